from django.urls import path

from . import posters, views

urlpatterns = [
    path("m/", views.signin, name="m_signin"),
    path("m/code/", views.signin_code, name="m_signin_code"),
    path("m/signout/", views.signout, name="m_signout"),
    path("m/wechat/", views.wechat_start, name="m_wechat"),
    path("m/wechat/back/", views.wechat_back, name="m_wechat_back"),
    path("m/card/", views.card, name="m_card"),
    path("m/card/code/", views.card_code_now, name="m_card_code"),
    path("m/me/", views.preferences, name="m_preferences"),
    path("m/events/<str:token>/", views.event_pass, name="m_event_pass"),
    path("m/feedback/", views.feedback, name="m_feedback"),
    path("m/surveys/<int:pk>/", views.survey, name="m_survey"),
    path("m/data/", views.my_data, name="m_data"),
    path("m/mall/", views.points_mall, name="m_mall"),
    path("m/join/", views.join, name="m_join"),
    path("m/join/code/", views.join_code, name="m_join_code"),
    path("member-centre/posters/", posters.poster_list, name="m_posters"),
    path("member-centre/posters/<int:store_id>/", posters.poster, name="m_poster"),
]

"""A new installation starts with one template per category (Chinese, passing the playbook's content rules)."""

from django.db import migrations
from django.utils import timezone

DEFAULT_TEMPLATES = [
    ("生日祝福", "birthday", "{title}，祝您生日快乐！愿您新的一岁平安喜乐、万事顺意。{store} {clerk}敬上"),
    ("节日祝福", "holiday", "{title}，{holiday}快乐！祝您和家人幸福安康。{store} {clerk}"),
    ("换季关怀", "season", "{title}，换季了，早晚温差大，出门记得添件外套，多喝温水，照顾好自己。{store} {clerk}"),
    ("想念问候", "missing_you", "{title}，好久不见，很想念您。天气多变，记得好好休息。有空路过时进来坐坐喝杯茶。{clerk}"),
    ("新品到店", "new_arrivals", "{title}您好，{store}的新品已经到了，有几款很适合您的风格，欢迎来试穿。{clerk}"),
    ("会员专享活动", "promotion", "{title}您好，{store}会员专享：{event}。期待您的光临！{clerk}"),
    ("购后回访", "callback", "{title}您好，我是{store}的{clerk}，感谢您的惠顾！衣服穿着还合适吗？有任何问题随时联系我。"),
    ("满意度问卷", "survey", "{title}您好，感谢您光临{store}，请花一分钟告诉我们您的感受：{link}"),
    ("活动邀请", "event", "{title}您好，诚邀您参加{event}，名额有限，期待与您相见。{store} {clerk}"),
]


def install(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    if MessageTemplate.objects.exists():
        return
    now = timezone.now()
    MessageTemplate.objects.bulk_create([
        MessageTemplate(name=name, category=category, channel="sms", body=body, updated_at=now)
        for name, category, body in DEFAULT_TEMPLATES])


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_fewer_message_indexes")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]

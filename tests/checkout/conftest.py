from tests.loyalty import conftest as loyalty_fixtures

chain = loyalty_fixtures.chain  # the loyalty tests' chain and member 王芳
member = loyalty_fixtures.member

"""The per-tenant password policy, through sign-up and directly."""

import pytest

from app.services.password_policy import common_passwords
from app.services.password_policy import password_problems


def test_the_shipped_list_holds_ten_thousand_common_passwords():
    words = common_passwords()
    assert len(words) == 10_000
    for common in ("123456", "password", "qwerty", "iloveyou", "dragon", "letmein"):
        assert common in words
    assert common_passwords() is words  # loaded once


@pytest.mark.parametrize("password", ["password1234", "PASSWORD1234", "1q2w3e4r5t6y"])
def test_common_passwords_are_refused_whatever_the_case(app, tenant, password):
    with app.app_context():
        assert any("too common" in p for p in password_problems(tenant, password))


def test_length_bounds_follow_the_tenant_setting(app, make_tenant):
    tenant = make_tenant("acme-corp", "Acme Corp", password_min_length=16)
    with app.app_context():
        assert password_problems(tenant, "fifteen chars!!") == ["Use at least 16 characters."]
        assert password_problems(tenant, "sixteen chars!!!") == []
        assert "Use at most 128 characters." in password_problems(tenant, "x" * 129 + "yz")
        assert password_problems(tenant, "unusual words " * 9) == []  # 126 chars, fine


def test_no_composition_rules(app, tenant):
    with app.app_context():
        assert password_problems(tenant, "all lower case words here") == []


def test_passwords_containing_the_email_are_refused(app, tenant):
    with app.app_context():
        problems = password_problems(tenant, "xx-ada.lovelace-xx", "ada.lovelace@example.com")
        assert problems == ["Don't use your email address in your password."]


def test_sign_up_reports_the_policy_inline(make_tenant, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", password_min_length=14)
    client = tenant_client(tenant)
    response = client.submit("/signup", {"email": "grace@example.com", "password": "thirteen char"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in html and "Use at least 14 characters." in html
    assert "Use 14 to 128 characters." in html  # the hint under the field

"""create_app only assembles; configuration comes from the environment (DESIGN §5)."""

import pytest

from app import create_app
from app.config import ConfigError
from app.config import load_config


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["BASE_DOMAIN"] == "gatehouse.test"


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config(str(tmp_path), {"GATEHOUSE_ENV": "production"})


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="at least 32"):
        load_config(str(tmp_path), {"GATEHOUSE_ENV": "production", "SECRET_KEY": "short"})


def test_development_generates_the_secret_once(tmp_path):
    first = load_config(str(tmp_path), {})["SECRET_KEY"]
    second = load_config(str(tmp_path), {})["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_follow_the_design(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["BASE_DOMAIN"] == "localhost:5000"
    assert config["URL_SCHEME"] == "http"
    assert config["TENANT_ROUTING"] == "subdomain"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    production = load_config(str(tmp_path), {"BASE_DOMAIN": "auth.example"})
    assert production["URL_SCHEME"] == "https"


def test_redis_url_backs_the_rate_limits(tmp_path):
    config = load_config(str(tmp_path), {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_bad_routing_value_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="TENANT_ROUTING"):
        load_config(str(tmp_path), {"TENANT_ROUTING": "dns"})


def test_create_app_does_not_create_tables(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": url})
    from sqlalchemy import inspect

    from app.extensions import db

    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()

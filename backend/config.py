"""Settings: ``ttydesk.toml`` then ``TTYDESK_*`` environment variables (env wins).

The file is looked for at ``$TTYDESK_CONFIG_FILE``, then ``./ttydesk.toml``, then
``$XDG_CONFIG_HOME/ttydesk/ttydesk.toml``. Nested sections use ``__`` in variable
names (``TTYDESK_POLICY__SHORTENERS``). A bad value stops start-up with one line naming
the key (see ``load_settings``).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from backend.domain.policy import ContentPolicy, PolicyConfig
from backend.domain.pricing import RateCard, RateCardError, parse_rate_card
from backend.domain.routing import RoutingRule

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
# ``database`` is a SQLite file path, or a URL of one of these schemes (PostgreSQL)
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


def _postgresql_only(value: str) -> str:
    url = _URL_SCHEME.match(value)
    if url is None or url.group(1).lower() not in POSTGRESQL_SCHEMES:
        raise ValueError("not a PostgreSQL URL")
    return value


PostgresUrl = Annotated[str, AfterValidator(_postgresql_only)]


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ttydesk"


def config_file_candidates() -> list[Path]:
    explicit = os.environ.get("TTYDESK_CONFIG_FILE")
    if explicit:
        return [Path(explicit)]
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path("ttydesk.toml"), Path(xdg) / "ttydesk" / "ttydesk.toml"]


class PolicySettings(BaseModel):
    """Content policy (quarantine) configuration."""

    enabled: bool = True
    """Apply the quarantine rules to inbound text and captions."""
    shorteners: list[str] | None = None
    """URL shortener domains to quarantine (None: the built-in list)."""
    phishing_domains: list[str] | None = None
    """Known phishing domains (None: the built-in list)."""
    protected_brands: list[str] | None = None
    """Brand names whose look-alike domains are quarantined."""
    disabled_rules: list[str] = []
    """Rule names to switch off, e.g. ["one_time_code"]."""

    def content_policy(self) -> ContentPolicy | None:
        """The policy these settings describe (None: switched off)."""
        if not self.enabled:
            return None
        defaults = PolicyConfig()
        return ContentPolicy(
            PolicyConfig(
                shorteners=tuple(self.shorteners)
                if self.shorteners is not None
                else defaults.shorteners,
                phishing_domains=tuple(self.phishing_domains or ()),
                protected_brands=tuple(self.protected_brands)
                if self.protected_brands is not None
                else defaults.protected_brands,
                disabled_rules=frozenset(self.disabled_rules),
            )
        )


class EmailSettings(BaseModel):
    """E-mail, the second channel (issue 18): the support addresses, how mail comes in
    (an SMTP listener the company's server forwards to, and/or an IMAP mailbox) and the
    relay replies go out through. Passwords are secrets: never logged nor returned."""

    addresses: list[str] = []
    """The support addresses: mail to them opens tickets, replies are sent from them."""
    display_name: str | None = None
    """The name replies are sent under (e.g. "Acme Support")."""
    authserv_id: str | None = None
    """The receiving server whose Authentication-Results header is trusted (None: the
    topmost one)."""
    listen_host: str = "127.0.0.1"
    """Address the SMTP listener binds to."""
    listen_port: int | None = Field(default=None, ge=0, le=65535)
    """Port of the SMTP listener for forwarded mail (None: no listener; 0: any free port)."""
    max_message_bytes: int = Field(default=30 * 1_048_576, ge=1024)
    """Largest mail the listener takes (larger ones are refused while they stream in)."""
    tls_certificate: Path | None = None
    """PEM certificate for the listener's STARTTLS (then required)."""
    tls_key: Path | None = None
    """The certificate's private key (PEM)."""
    imap_host: str | None = None
    """IMAP server of a hosted mailbox (None: no fetching)."""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: bool = True
    """IMAPS (993); false only for a server on this machine."""
    imap_user: str | None = None
    imap_password: SecretStr = SecretStr("")
    imap_folder: str = "INBOX"
    imap_address: str | None = None
    """The support address the mailbox receives for (None: the first of ``addresses``)."""
    relay_host: str | None = None
    """The company's relay replies go out through (None: replies are not sent)."""
    relay_port: int = Field(default=587, ge=1, le=65535)
    relay_starttls: bool = True
    """Require STARTTLS; false only for a relay on this machine."""
    relay_user: str | None = None
    relay_password: SecretStr = SecretStr("")

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        cleaned = [address.strip().lower() for address in value if address.strip()]
        for address in cleaned:
            local, at, domain = address.partition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return cleaned


class RoutingRuleSettings(BaseModel):
    required_skills: list[str]
    countries: list[str] = []
    keywords: list[str] = []


class Settings(BaseSettings):
    """Everything the backend reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="TTYDESK_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the database and media files live."""
    database: Annotated[PostgresUrl | Path | None, Field(union_mode="left_to_right")] = None
    """SQLite database path (default: <data_dir>/ttydesk.db), or a postgresql:// URL."""
    host: str = "127.0.0.1"
    """Address the backend listens on."""
    port: int = Field(default=8580, ge=0, le=65535)
    """Port the backend listens on (0: any free port)."""
    public_url: str | None = None
    """The URL Meta reaches the webhook at (shown by `ttydesk admin channel list`)."""

    whatsapp_graph_url: str = DEFAULT_GRAPH_URL
    """Graph API base URL: Meta's, or the simulator's."""
    whatsapp_api_version: str = "v26.0"
    """Graph API version path segment."""
    whatsapp_app_secret: SecretStr = SecretStr("")
    """Meta app secret: the key of webhook signatures."""
    whatsapp_verify_token: SecretStr = SecretStr("")
    """The verify token entered at Meta for the webhook handshake."""
    whatsapp_send_timeout: float = Field(default=15.0, gt=0)
    """Seconds before a Graph API send counts as timed out (ambiguous)."""
    whatsapp_ambiguous_wait: float = Field(default=60.0, gt=0)
    """Seconds a timed-out (ambiguous) send waits for a status before it is marked failed."""
    outbox_lease: float = Field(default=30.0, gt=0)
    """Seconds a process holds a send it claimed (WhatsApp or e-mail) unless it renews the
    hold (it does, every third of it, while the send is on the wire). A send held by a
    process that died is taken for "not known whether sent" once its hold lapses."""

    usage_limit: int = Field(default=1000, ge=0)
    """Business-initiated conversations per month, shared by all channels."""
    subscription_start: date = date(2026, 1, 1)
    """The day the subscription started: the monthly usage resets on its day of month."""
    rate_card: Path | None = None
    """The admin's rate card (TOML: currency, and prices per market and category; see
    assets/rate-card.example.toml). Without it usage shows counts; with it, money."""
    free_service_messages_per_month: int = Field(default=1000, ge=0)
    """Delivered service messages each business number may send free per month."""
    budget: Decimal | None = Field(default=None, gt=0)
    """What WhatsApp may cost per month, in the rate card's currency: the header warns
    at 80 % and 100 % of the month's estimate."""

    max_body_bytes: int = Field(default=1_048_576 * 2, ge=1024)
    """Largest JSON request body accepted."""
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest webhook body read (Meta's notifications are a few KB); more is a 413,
    answered before the rest is read and before the signature is checked."""
    max_upload_bytes: int = Field(default=100 * 1_048_576, ge=1024)
    """Largest media upload accepted (documents: 100 MB)."""
    event_retention: int = Field(default=200_000, ge=100)
    """Events kept in the log for replay; older clients are told to resync."""
    ws_queue_size: int = Field(default=1000, ge=10)
    """Events a slow WebSocket client may fall behind before it is dropped."""
    ws_queue_bytes: int = Field(default=4 * 1_048_576, ge=65_536)
    """Bytes of events a slow WebSocket client may fall behind before it is dropped."""
    ws_heartbeat: float = Field(default=30.0, gt=0)
    """Seconds between WebSocket pings."""
    snooze_check_interval: float = Field(default=30.0, gt=0)
    """Seconds between checks for snoozed tickets whose time has passed."""

    policy: PolicySettings = PolicySettings()
    email: EmailSettings = EmailSettings()
    routing_rules: list[RoutingRuleSettings] = []
    log_level: str = "INFO"

    def routing(self) -> tuple[RoutingRule, ...]:
        """The routing rules as the domain takes them (every channel routes alike)."""
        return tuple(
            RoutingRule(
                required_skills=frozenset(rule.required_skills),
                countries=frozenset(rule.countries),
                keywords=tuple(rule.keywords),
            )
            for rule in self.routing_rules
        )

    @field_validator("whatsapp_graph_url", "public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("database", mode="before")
    @classmethod
    def _database_location(cls, value: Any) -> Any:
        """A URL is never taken for a path: ``postgresql://h/db`` would otherwise be a
        SQLite file in a folder named ``postgresql:``."""
        if isinstance(value, str) and (url := _URL_SCHEME.match(value.strip())):
            scheme = url.group(1).lower()
            if scheme in POSTGRESQL_SCHEMES:
                return value.strip()
            raise ValueError(
                f"{scheme}:// is not a database ttydesk can use: give a file path (SQLite), "
                "or leave it unset for <data_dir>/ttydesk.db"
            )
        return value

    @field_validator("rate_card")
    @classmethod
    def _readable_rate_card(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_rate_card(value)  # a RateCardError (a ValueError) names the key and line
        return value

    @field_validator("whatsapp_api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip("/")
        if not value.startswith("v"):
            value = "v" + value
        return value

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL database's URL; None for SQLite."""
        return self.database if isinstance(self.database, str) else None

    @property
    def database_path(self) -> Path:
        """The SQLite file (with PostgreSQL, where it would be: nothing is made there)."""
        if isinstance(self.database, Path):
            return self.database
        return self.data_dir / "ttydesk.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [path for path in config_file_candidates() if path.is_file()]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if files:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=files[0]))
        return tuple(sources)


def load_rate_card(path: Path | None) -> RateCard | None:
    """The admin's rate card, read afresh (the API reads it per request: an edit applies
    without a restart); a RateCardError names the file and what is wrong."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RateCardError(f"cannot read the rate card {path}: {exc}") from None
    try:
        return parse_rate_card(text)
    except RateCardError as exc:
        raise RateCardError(f"{path}: {exc}") from None


class ConfigError(Exception):
    """A bad setting: ``str()`` is the one line to show."""


def _known_keys(model: type[BaseModel], prefix: str = "") -> dict[str, type[BaseModel] | None]:
    """Every key a settings file may hold, dotted (``policy.enabled``), with the model of
    the tables it names (a table or an array of tables), None for a value."""
    keys: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        key = prefix + name
        annotation = info.annotation
        inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        nested = next(
            (
                kind
                for kind in (annotation, inner)
                if isinstance(kind, type) and issubclass(kind, BaseModel)
            ),
            None,
        )
        keys[key] = nested
        if nested is not None:
            keys.update(_known_keys(nested, key + "."))
    return keys


def _unknown_keys(table: dict[str, Any], known: dict[str, Any], prefix: str = "") -> list[str]:
    unknown = []
    for name, value in table.items():
        key = prefix + name
        if key not in known:
            unknown.append(key)
        elif known[key] is not None:
            tables = value if isinstance(value, list) else [value]
            for nested in tables:
                if isinstance(nested, dict):
                    unknown += _unknown_keys(nested, known, key + ".")
    return unknown


def check_file(path: Path) -> None:
    """A settings file that TOML cannot parse, or with a key no setting has, is refused in
    one line (the file and line; the key and the nearest valid one): a misspelt key would
    otherwise be ignored without a word."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}: fix that line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    known = _known_keys(Settings)
    unknown = _unknown_keys(table, known)
    if unknown:
        key = unknown[0]
        nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {nearest[0]!r}?" if nearest else "remove it"
        raise ConfigError(f"unknown setting {key!r} in {path}: {hint}")


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation error into one line that names the key."""
    files = [path for path in config_file_candidates() if path.is_file()]
    if files:
        check_file(files[0])
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "settings"
        env_name = "TTYDESK_" + key.upper().replace(".", "__")
        files = [path for path in config_file_candidates() if path.is_file()]
        where = f" (in {files[0]} or {env_name})" if files else f" ({env_name})"
        raise ConfigError(f"bad setting {key}{where}: {first['msg']}") from None
    except Exception as exc:  # a TOML syntax error
        raise ConfigError(f"cannot read settings: {exc}") from None

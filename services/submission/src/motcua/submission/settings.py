"""Configuration of the submission service (CONTRACT.md variables plus its own limits)."""

from __future__ import annotations

from motcua.common.settings import ServiceSettings
from motcua.common.slip_document import SlipTypeface
from motcua.submission.due_dates import WorkingHours
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings, SlipTypeface):
    """Every limit a citizen can run into is a setting, so tests can use small values."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "submission"
    port: int = Field(default=8003, validation_alias=AliasChoices("SUBMISSION_PORT", "port"))

    lookup_limit: int = Field(default=30, ge=1, description="tracking-code lookups per client IP per window")
    lookup_window_seconds: int = Field(default=60, ge=1)
    draft_limit: int = Field(default=20, ge=1, description="drafts a citizen may start per window")
    draft_window_seconds: int = Field(default=600, ge=1)
    upload_limit: int = Field(default=60, ge=1, description="uploads a citizen may send per window")
    upload_window_seconds: int = Field(default=600, ge=1)

    max_form_bytes: int = Field(default=64 * 1024, ge=1024, description="size of a draft's form data as JSON")
    upload_drain_limit_mb: float = Field(
        default=64.0, gt=0, description="how much of a refused upload is read (and discarded) before answering"
    )
    upload_max_request_mb: float = Field(
        default=60.0, gt=0, description="the largest body an upload request may have (every other route: 64 KiB)"
    )
    max_page_size: int = Field(default=100, ge=1)
    orphan_file_age_seconds: float = Field(
        default=3600, gt=0, description="an uploaded file never attached to its application is deleted after this"
    )
    orphan_sweep_seconds: float = Field(default=600, gt=0, description="how often unattached files are looked for")

    # When a desk works (Vietnam time): a dossier sent outside these hours is received at the next start.
    working_hours: str = Field(default="07:30-17:00", description="HH:MM-HH:MM, every agency's unless overridden")
    agency_working_hours: dict[str, str] = Field(
        default_factory=dict, description='JSON {"agency code": "HH:MM-HH:MM"} for agencies keeping other hours'
    )

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        return str(WorkingHours.parse(value))

    @field_validator("agency_working_hours")
    @classmethod
    def _agency_hours(cls, value: dict[str, str]) -> dict[str, str]:
        return {code: str(WorkingHours.parse(hours)) for code, hours in value.items()}

    # The agency's desk: how long an applicant has to supply what was asked, and how often deadlines are checked.
    supplement_days: int = Field(
        default=30, ge=1, le=365, description="calendar days to supply a supplement before intake may refuse"
    )
    escalation_check_seconds: float = Field(
        default=300, gt=0, description="how often one replica looks for dossiers near or past their due date"
    )

    # The service index's read model is fed by its own consumer group on the submission topic; a new group
    # name (and an empty read model) rebuilds it from the topic's beginning.
    index_consumer_group: str = Field(default="submission-index", min_length=1, max_length=100)

    def hours_for(self, agency_code: str) -> WorkingHours:
        """The working hours of `agency_code`'s desk."""
        return WorkingHours.parse(self.agency_working_hours.get(agency_code, self.working_hours))

    # -- result documents (issue 20): signing keys, sizes, the public verification's limit --
    result_signing_pkcs12_files: dict[str, str] = Field(
        default_factory=dict, description='JSON {"agency code": "/path/to/agency.p12"}: each agency\'s signing key'
    )
    result_signing_pkcs12_passphrase: SecretStr = Field(
        default=SecretStr(""), description="the passphrase of those PKCS#12 files (a Kubernetes secret)"
    )
    result_signing_dev_ca_dir: str = Field(
        default="",
        description="a development CA and per-agency certificates made here on first use, for agencies without a "
        "PKCS#12 file (make run: var/signing; never in production)",
    )
    result_max_mb: float = Field(default=20.0, gt=0, description="the largest result PDF an officer may upload")
    verify_limit: int = Field(default=30, ge=1, description="public verifications per client address per window")
    verify_window_seconds: int = Field(default=60, ge=1)
    # Fees (docs/payments.md): the VNPAY terminal and where its gateway is (the local provider of `make run`
    # by default). No secret, no online payment: starting one answers 409 (make run sets the local provider's).
    payment_provider_url: str = Field(
        default="http://127.0.0.1:8009", validation_alias=AliasChoices("PAYMENT_PROVIDER_URL", "payment_provider_url")
    )
    # Production VNPAY keeps its payment page and its merchant API on different hosts; empty: the paths of the
    # sandbox and the local provider under PAYMENT_PROVIDER_URL.
    vnpay_payment_url: str = Field(
        default="",
        validation_alias=AliasChoices("VNPAY_PAYMENT_URL", "vnpay_payment_url"),
        description="the payment page, e.g. https://pay.vnpay.vn/vpcpay.html; "
        "empty: PAYMENT_PROVIDER_URL/paymentv2/vpcpay.html",
    )
    vnpay_api_url: str = Field(
        default="",
        validation_alias=AliasChoices("VNPAY_API_URL", "vnpay_api_url"),
        description="the merchant API (querydr, refund), e.g. https://merchant.vnpay.vn/merchant_webapi/api/transaction;"
        " empty: PAYMENT_PROVIDER_URL/merchant_webapi/api/transaction",
    )
    vnpay_tmn_code: str = Field(
        default="MOTCUA01",
        min_length=1,
        max_length=20,
        validation_alias=AliasChoices("VNPAY_TMN_CODE", "vnpay_tmn_code"),
    )
    vnpay_hash_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("VNPAY_HASH_SECRET", "vnpay_hash_secret"),
        description="the terminal's hash secret (a Kubernetes Secret); empty turns online payment off",
    )
    payment_return_url: str = Field(
        default="",
        description="where the provider sends the browser back; empty: PUBLIC_BASE_URL/v1/payments/vnpay/return",
    )
    payment_attempt_minutes: float = Field(
        default=15,
        gt=0,
        le=1440,
        description="how long the provider's page takes a payment (vnp_ExpireDate); an attempt left unfinished "
        "then is settled by a transaction query and, unpaid, the fee is due again",
    )
    payment_expiry_grace_seconds: float = Field(
        default=120, ge=0, description="how long after vnp_ExpireDate an unfinished attempt is given up"
    )
    payment_query_after_seconds: float = Field(
        default=900, gt=0, description="a payment pending this long without an IPN is settled by a transaction query"
    )
    payment_query_every_seconds: float = Field(
        default=300, gt=0, description="how often pending payments are looked at"
    )
    payment_start_limit: int = Field(default=10, ge=1, description="payments a citizen may start per window")
    payment_start_window_seconds: int = Field(default=600, ge=1)

    @property
    def vnpay_pay_page(self) -> str:
        return self.vnpay_payment_url or self.payment_provider_url.rstrip("/") + "/paymentv2/vpcpay.html"

    @property
    def vnpay_api(self) -> str:
        return self.vnpay_api_url or self.payment_provider_url.rstrip("/") + "/merchant_webapi/api/transaction"

    @property
    def vnpay_return_url(self) -> str:
        return self.payment_return_url or self.public_base_url.rstrip("/") + "/v1/payments/vnpay/return"

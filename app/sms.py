"""SMS behind one interface: the console (default), Alibaba Cloud or Tencent Cloud, chosen by configuration."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import phonenumbers

from app.config import SMS_DEFAULTS
from app.sending import DeliveryFailed

log = logging.getLogger("gridsnap.sms")

THROTTLE_WAIT = 60.0
PROVIDERS = ("console", "aliyun", "tencent")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


# Each kind of message: its template's parameters in order (Tencent's TemplateParamSet is a list in the
# template's {1}, {2}... order; Aliyun's TemplateParam names them ${ref}, ${category}...), and the text the
# console prints. A provider template approved for a kind must use these parameters.
class SmsKind(StrEnum):
    """The messages that have a template approved by the provider."""

    ASSIGNED = "assigned"
    OVERDUE = "overdue"
    RESOLVED = "resolved"
    LOGIN_CODE = "login_code"


KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    SmsKind.ASSIGNED: (
        ("ref", "category", "place", "deadline"),
        "新派单 {ref}：{category}，地点：{place}，请于 {deadline} 前处理。",
    ),
    SmsKind.OVERDUE: (("ref", "category", "deadline"), "{ref}（{category}）已超过处理期限 {deadline}，请尽快处理。"),
    SmsKind.RESOLVED: (("ref", "category"), "您上报的 {ref}（{category}）已处理完毕，感谢您的参与。"),
    SmsKind.LOGIN_CODE: (("code",), "您的网格随手拍登录验证码为 {code}，5分钟内有效。请勿告诉他人。"),
}


class SmsProvider(Protocol):
    """Sends one templated text message; returns the provider's message id or raises DeliveryFailed."""

    def send(self, phone_e164: str, kind: str, params: dict[str, str], *, key: str) -> str: ...


def sms_provider(config: Mapping[str, Any]) -> SmsProvider:
    """The SMS provider a configuration names in SMS_PROVIDER (console by default)."""
    name = (config.get("SMS_PROVIDER") or SMS_DEFAULTS["SMS_PROVIDER"]).strip().lower()
    if name == "console":
        return ConsoleSms()
    if name == "aliyun":
        return AliyunSms.from_config(config)
    if name == "tencent":
        return TencentSms.from_config(config)
    raise ValueError(f"Unknown SMS provider {name!r}: use one of {', '.join(PROVIDERS)}.")


def normalise_phone(raw: str, region: str = "CN") -> str:
    """A mobile number in E.164 (+8613812345678); ValueError for anything else."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as err:
        raise ValueError(f"Not a phone number: {raw!r}") from err
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"Not a valid phone number: {raw!r}")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError(f"Not a mobile number (a text message cannot reach it): {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def template_values(kind: str, params: Mapping[str, str]) -> dict[str, str]:
    """The kind's template parameters in order, as strings; DeliveryFailed (permanent) when one is missing."""
    if kind not in KINDS:
        raise DeliveryFailed(f"unknown SMS kind {kind!r}", permanent=True)
    names = KINDS[kind][0]
    missing = [name for name in names if params.get(name) in (None, "")]
    if missing:
        raise DeliveryFailed(f"SMS kind {kind!r} needs {', '.join(missing)}", permanent=True)
    return {name: str(params[name]) for name in names}


class ConsoleSms:
    """Writes each message to the gridsnap.sms log instead of sending it (the demo and development)."""

    def send(self, phone_e164: str, kind: str, params: dict[str, str], *, key: str) -> str:
        text = KINDS.get(kind, ("", ""))[1].format(**template_values(kind, params))
        log.info("SMS to %s: %s", phone_e164, text)
        return f"console-{secrets.token_hex(8)}"


def _settings(config: Mapping[str, Any], names: tuple[str, ...], provider: str) -> dict[str, Any]:
    missing = [name for name in names if not config.get(name)]
    if missing:
        raise ValueError(f"SMS provider {provider} needs " + ", ".join(f"GRIDSNAP_{n}" for n in missing))
    return {name: config[name] for name in names}


def _timeout(config: Mapping[str, Any]) -> float:
    return float(config.get("SMS_TIMEOUT") or SMS_DEFAULTS["SMS_TIMEOUT"])


def _templates(value: Any) -> dict[str, str]:
    """SMS_TEMPLATES as a dict kind -> template code (JSON text accepted)."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, Mapping):
        raise ValueError("SMS_TEMPLATES must map each message kind to its template code")
    unknown = set(value) - set(KINDS)
    if unknown:
        raise ValueError(f"SMS_TEMPLATES names unknown kinds: {', '.join(sorted(unknown))}")
    return {kind: str(code) for kind, code in value.items()}


def _template(templates: Mapping[str, str], kind: str) -> str:
    if kind not in templates:
        raise DeliveryFailed(f"no SMS template configured for {kind!r} (GRIDSNAP_SMS_TEMPLATES)", permanent=True)
    return templates[kind]


def _endpoint(value: str | None, default_host: str) -> tuple[str, str]:
    """(scheme, host[:port]) of SMS_ENDPOINT: https, except plain http on a loopback stand-in."""
    if not value:
        return "https", default_host
    parts = urlsplit(value if "://" in value else "//" + value)
    host = (parts.hostname or "").lower()
    scheme = parts.scheme or ("http" if host in LOOPBACK else "https")
    if not parts.netloc or scheme not in ("http", "https"):
        raise ValueError(f"SMS_ENDPOINT is not a host or web address: {value!r}")
    if scheme == "http" and host not in LOOPBACK:
        raise ValueError("SMS_ENDPOINT must use https (plain http only for 127.0.0.1 or localhost)")
    return scheme, parts.netloc


class AliyunSms:
    """Alibaba Cloud SMS (dysmsapi 2017-05-25 SendSms) through its official SDK."""

    DEFAULT_HOST = "dysmsapi.aliyuncs.com"
    THROTTLING = ("isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling")
    RETRYABLE = ("isp.", "InternalError", "ServiceUnavailable")

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, str],
        endpoint: str | None,
        timeout: float,
    ):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        scheme, host = _endpoint(endpoint, self.DEFAULT_HOST)
        ms = int(timeout * 1000)
        self.client = Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=host,
                protocol=scheme,
                connect_timeout=ms,
                read_timeout=ms,
            )
        )
        self.sign_name, self.templates = sign_name, _templates(templates)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AliyunSms:
        """An adapter from the SMS_ALIYUN_* settings."""
        s = _settings(
            config,
            ("SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATES"),
            "aliyun",
        )
        return cls(
            s["SMS_ALIYUN_ACCESS_KEY_ID"],
            s["SMS_ALIYUN_ACCESS_KEY_SECRET"],
            s["SMS_SIGN_NAME"],
            s["SMS_TEMPLATES"],
            config.get("SMS_ENDPOINT"),
            _timeout(config),
        )

    def send(self, phone_e164: str, kind: str, params: dict[str, str], *, key: str) -> str:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        request = SendSmsRequest(
            phone_numbers=self.number(phone_e164),
            sign_name=self.sign_name,
            template_code=_template(self.templates, kind),
            template_param=json.dumps(template_values(kind, params), ensure_ascii=False),
            out_id=key,
        )  # echoed in Aliyun's delivery receipts: traces a text back to our delivery
        try:
            body = self.client.send_sms(request).body
        except Exception as err:  # the SDK raises its own classes, and wraps network errors in others
            status = getattr(err, "status_code", None)
            if status is None:  # no answer: name the network error only (its text repeats the whole query)
                text = str(getattr(err, "inner_exception", None) or err).lower()
                what = "timed out" if "timed out" in text else "connection refused" if "refused" in text else "network"
                raise self.failure(None, None, f"no answer ({what})") from err
            raise self.failure(getattr(err, "code", None), status, getattr(err, "message", err)) from err
        if body is None or body.code != "OK":
            raise self.failure(body.code if body else None, 200, body.message if body else "empty answer")
        return body.biz_id

    @staticmethod
    def number(phone_e164: str) -> str:
        """Aliyun's form: 11 digits for a mainland number, else the country code and number without '+'."""
        return phone_e164[3:] if phone_e164.startswith("+86") else phone_e164.lstrip("+")

    @classmethod
    def failure(cls, code: str | None, status: int | None, detail: Any) -> DeliveryFailed:
        """Map an Aliyun answer to DeliveryFailed: throttling waits, server trouble retries, the rest is final."""
        reason = f"aliyun {code or 'error'}: {detail}"  # detail: the provider's message, never our request
        if code and code.startswith(cls.THROTTLING):
            return DeliveryFailed(reason, retry_after=THROTTLE_WAIT)
        if code and code.startswith(cls.RETRYABLE):
            return DeliveryFailed(reason)
        if status is None or status >= 500:  # no answer (network, timeout) or the server failed
            return DeliveryFailed(reason)
        return DeliveryFailed(reason, permanent=True)  # isv.* and 4xx: number, template, signature, account


class TencentSms:
    """Tencent Cloud SMS (sms 2021-01-11 SendSms) through its official SDK."""

    DEFAULT_HOST = "sms.tencentcloudapi.com"
    # Refusals that carry a LimitExceeded name but are no rate: waiting does not change them.
    NOT_A_RATE = ("LimitExceeded.AppCountryOrRegionInBlacklist", "LimitExceeded.PhoneNumberCountLimit")
    RETRYABLE = ("InternalError", "ClientNetworkError", "ServerNetworkError", "ResourceUnavailable")

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        app_id: str,
        sign_name: str,
        templates: Mapping[str, str],
        region: str,
        endpoint: str | None,
        timeout: float,
    ):
        from tencentcloud.common.credential import Credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111.sms_client import SmsClient

        scheme, host = _endpoint(endpoint, self.DEFAULT_HOST)
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=host, protocol=scheme, reqTimeout=timeout))
        self.client = SmsClient(Credential(secret_id, secret_key), region, profile)
        self.app_id, self.sign_name, self.templates = str(app_id), sign_name, _templates(templates)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TencentSms:
        """An adapter from the SMS_TENCENT_* settings."""
        s = _settings(
            config,
            ("SMS_TENCENT_SECRET_ID", "SMS_TENCENT_SECRET_KEY", "SMS_TENCENT_APP_ID", "SMS_SIGN_NAME", "SMS_TEMPLATES"),
            "tencent",
        )
        return cls(
            s["SMS_TENCENT_SECRET_ID"],
            s["SMS_TENCENT_SECRET_KEY"],
            s["SMS_TENCENT_APP_ID"],
            s["SMS_SIGN_NAME"],
            s["SMS_TEMPLATES"],
            config.get("SMS_TENCENT_REGION") or SMS_DEFAULTS["SMS_TENCENT_REGION"],
            config.get("SMS_ENDPOINT"),
            _timeout(config),
        )

    def send(self, phone_e164: str, kind: str, params: dict[str, str], *, key: str) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111.models import SendSmsRequest

        request = SendSmsRequest()
        request.PhoneNumberSet = [phone_e164]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = _template(self.templates, kind)
        request.TemplateParamSet = list(template_values(kind, params).values())
        request.SessionContext = key  # echoed back in Tencent's answer and delivery receipts
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as err:
            raise self.failure(err.get_code() or "", err.get_message()) from err
        statuses = response.SendStatusSet or []
        if not statuses:
            raise DeliveryFailed("tencent: the answer has no send status")
        status = statuses[0]  # one number per request: its own result
        if status.Code != "Ok":
            raise self.failure(status.Code or "", status.Message)
        return status.SerialNo

    @classmethod
    def failure(cls, code: str, message: Any) -> DeliveryFailed:
        """Map a Tencent error code to DeliveryFailed: limits wait, server trouble retries, the rest is final."""
        if isinstance(message, bytes):
            message = message[:200].decode("utf-8", "replace")
        reason = f"tencent {code or 'error'}: {message}"
        if code.startswith(cls.NOT_A_RATE):
            return DeliveryFailed(reason, permanent=True)
        if code.startswith(("LimitExceeded", "RequestLimitExceeded")):
            return DeliveryFailed(reason, retry_after=THROTTLE_WAIT)
        if code.startswith(cls.RETRYABLE) or not code:
            return DeliveryFailed(reason)
        # InvalidParameterValue.* (number, parameters), FailedOperation.* (template, signature, blacklist),
        # UnauthorizedOperation.*, AuthFailure.*, MissingParameter.*, UnsupportedOperation.*
        return DeliveryFailed(reason, permanent=True)

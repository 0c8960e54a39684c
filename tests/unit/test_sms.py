"""SMS adapters: the real Aliyun and Tencent SDKs against local stand-ins that check their signed requests."""

import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from app.notify import DeliveryFailed
from app.sms import (
    AliyunSms,
    ConsoleSms,
    normalise_phone,
    sms_provider,
)
from tests.servers import free_port
from tests.stand_in import stand_in

PHONE = "+8613912345678"
PARAMS = {"ref": "R-20250101-0007", "category": "占道经营", "place": "滨江路12号", "deadline": "1月2日18时"}
TEMPLATES = {"assigned": "SMS_300000001", "overdue": "SMS_300000002"}
AK_ID, AK_SECRET = "LTAI5tStandInKeyId", "StandInAccessKeySecret"
TC_ID, TC_KEY = "AKIDStandInSecretId", "StandInSecretKey"


class Provider(BaseHTTPRequestHandler):
    """Common answering: record the request, let the test pick the answer, write JSON."""

    def do_POST(self):
        parts = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = {
            "path": parts.path,
            "raw_query": parts.query,
            "query": dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)),
            "headers": self.headers,
            "body": body,
        }
        self.server.requests.append(seen)
        if self.server.delay:
            time.sleep(self.server.delay)
        status, answer = self.answer(seen)
        data = json.dumps(answer, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


class AliyunStandIn(Provider):
    """dysmsapi: checks the ACS3-HMAC-SHA256 signature (Alibaba Cloud's V3 request signature) like the service."""

    def answer(self, seen):
        auth = seen["headers"].get("Authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(item.split("=", 1) for item in rest.split(","))
        signed = fields.get("SignedHeaders", "")
        payload = hashlib.sha256(seen["body"]).hexdigest()
        canonical_query = "&".join(
            f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}"
            for k, v in sorted(urllib.parse.parse_qsl(seen["raw_query"], keep_blank_values=True))
        )
        canonical_headers = "".join(f"{name}:{seen['headers'].get(name, '').strip()}\n" for name in signed.split(";"))
        canonical = f"POST\n{seen['path']}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload}"
        to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(self.server.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if (
            algorithm != "ACS3-HMAC-SHA256"
            or fields.get("Credential") != AK_ID
            or not {"host", "x-acs-action", "x-acs-date", "x-acs-content-sha256"} <= set(signed.split(";"))
            or seen["headers"].get("x-acs-content-sha256") != payload
            or not hmac.compare_digest(fields.get("Signature", ""), expected)
        ):
            return 400, {
                "RequestId": "A-SIG",
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature does not match our calculation.",
            }
        return self.server.reply


class TencentStandIn(Provider):
    """sms.tencentcloudapi.com: checks the TC3-HMAC-SHA256 signature as Tencent Cloud documents it."""

    def answer(self, seen):
        headers = seen["headers"]
        auth = headers.get("Authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(item.strip().split("=", 1) for item in rest.split(","))
        secret_id, date, service, _ = fields.get("Credential", "///").split("/")
        timestamp = headers.get("X-TC-Timestamp", "0")
        canonical = (
            f"POST\n/\n\ncontent-type:{headers.get('Content-Type', '').lower()}\n"
            f"host:{headers.get('Host', '').lower()}\n\ncontent-type;host\n"
            f"{hashlib.sha256(seen['body']).hexdigest()}"
        )
        scope = f"{date}/{service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

        def sign(key, msg):
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = sign(sign(sign(("TC3" + self.server.secret).encode(), date), service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        day = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
        if (
            algorithm != "TC3-HMAC-SHA256"
            or secret_id != TC_ID
            or service != "sms"
            or date != day
            or fields.get("SignedHeaders") != "content-type;host"
            or not hmac.compare_digest(fields.get("Signature", ""), expected)
        ):
            return 200, {
                "Response": {
                    "Error": {
                        "Code": "AuthFailure.SignatureFailure",
                        "Message": "The provided credentials could not be validated.",
                    },
                    "RequestId": "T-SIG",
                }
            }
        return self.server.reply


ALIYUN_OK = (
    200,
    {
        "Message": "OK",
        "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
        "Code": "OK",
        "BizId": "900619746936498440^0",
    },
)


def tencent_status(code, message, serial=""):
    return (
        200,
        {
            "Response": {
                "SendStatusSet": [
                    {
                        "SerialNo": serial,
                        "PhoneNumber": PHONE,
                        "Fee": 1 if code == "Ok" else 0,
                        "SessionContext": "d-42",
                        "Code": code,
                        "Message": message,
                        "IsoCode": "CN",
                    }
                ],
                "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
            }
        },
    )


@pytest.fixture
def aliyun():
    with stand_in(AliyunStandIn, secret=AK_SECRET, reply=ALIYUN_OK, delay=0.0) as server:
        yield server


@pytest.fixture
def tencent():
    with stand_in(
        TencentStandIn, secret=TC_KEY, reply=tencent_status("Ok", "send success", "2028:1045710669157"), delay=0.0
    ) as server:
        yield server


def aliyun_sms(server, secret=AK_SECRET, **extra):
    return sms_provider(
        {
            "SMS_PROVIDER": "aliyun",
            "SMS_ALIYUN_ACCESS_KEY_ID": AK_ID,
            "SMS_ALIYUN_ACCESS_KEY_SECRET": secret,
            "SMS_SIGN_NAME": "网格随手拍",
            "SMS_TEMPLATES": TEMPLATES,
            "SMS_ENDPOINT": server.base.removeprefix("http://"),
            **extra,
        }
    )


def tencent_sms(server, secret=TC_KEY, **extra):
    return sms_provider(
        {
            "SMS_PROVIDER": "tencent",
            "SMS_TENCENT_SECRET_ID": TC_ID,
            "SMS_TENCENT_SECRET_KEY": secret,
            "SMS_TENCENT_APP_ID": "1400787878",
            "SMS_SIGN_NAME": "网格随手拍",
            "SMS_TEMPLATES": json.dumps({"assigned": "1888001", "overdue": "1888002"}),
            "SMS_ENDPOINT": server.base,
            **extra,
        }
    )


# --- Alibaba Cloud ---


def test_aliyun_sends_a_signed_sendsms_with_the_template_and_the_delivery_key(aliyun):
    assert aliyun_sms(aliyun).send(PHONE, "assigned", PARAMS, key="d-42") == "900619746936498440^0"
    seen = aliyun.requests[0]
    assert seen["headers"]["x-acs-action"] == "SendSms" and seen["headers"]["x-acs-version"] == "2017-05-25"
    assert seen["headers"]["Authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={AK_ID},")
    query = seen["query"]
    assert query["PhoneNumbers"] == "13912345678"  # mainland numbers go without +86
    assert query["SignName"] == "网格随手拍" and query["TemplateCode"] == "SMS_300000001"
    assert json.loads(query["TemplateParam"]) == PARAMS
    assert query["OutId"] == "d-42"


def test_aliyun_with_a_wrong_secret_fails_the_signature_check_for_good(aliyun):
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun, secret="not-the-secret").send(PHONE, "assigned", PARAMS, key="d-42")
    assert failure.value.permanent and "SignatureDoesNotMatch" in failure.value.reason


def test_aliyun_throttling_waits_a_minute(aliyun):
    aliyun.reply = (
        200,
        {"Message": "触发分钟级流控Permits:1", "RequestId": "R2", "Code": "isv.BUSINESS_LIMIT_CONTROL"},
    )
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and failure.value.retry_after == 60
    assert "isv.BUSINESS_LIMIT_CONTROL" in failure.value.reason


@pytest.mark.parametrize(
    "code, message",
    [
        ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
        ("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"),
        ("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"),
    ],
)
def test_aliyun_number_template_and_signature_errors_are_permanent(aliyun, code, message):
    aliyun.reply = (200, {"Message": message, "RequestId": "R3", "Code": code})
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun).send(PHONE, "assigned", PARAMS, key="d-42")
    assert failure.value.permanent and code in failure.value.reason and message in failure.value.reason


def test_aliyun_server_error_is_retried(aliyun):
    aliyun.reply = (500, {"RequestId": "R4", "Code": "InternalError", "Message": "The request processing has failed."})
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and failure.value.retry_after is None


def test_aliyun_timeout_is_retried(aliyun):
    aliyun.delay = 1.5
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun, SMS_TIMEOUT=0.3).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and "timed out" in failure.value.reason


def test_aliyun_unreachable_is_retried():
    sms = sms_provider(
        {
            "SMS_PROVIDER": "aliyun",
            "SMS_ALIYUN_ACCESS_KEY_ID": AK_ID,
            "SMS_ALIYUN_ACCESS_KEY_SECRET": AK_SECRET,
            "SMS_SIGN_NAME": "网格随手拍",
            "SMS_TEMPLATES": TEMPLATES,
            "SMS_ENDPOINT": f"127.0.0.1:{free_port()}",
        }
    )
    with pytest.raises(DeliveryFailed) as failure:
        sms.send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and "connection refused" in failure.value.reason
    assert PHONE[3:] not in failure.value.reason  # the request's query stays out of the admin's page


def test_aliyun_international_number_keeps_its_country_code():
    assert AliyunSms.number("+85291234567") == "85291234567"
    assert AliyunSms.number("+8613912345678") == "13912345678"


# --- Tencent Cloud ---


def test_tencent_sends_a_tc3_signed_sendsms_with_ordered_parameters(tencent):
    assert tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42") == "2028:1045710669157"
    seen = tencent.requests[0]
    assert seen["headers"]["X-TC-Action"] == "SendSms" and seen["headers"]["X-TC-Version"] == "2021-01-11"
    assert seen["headers"]["X-TC-Region"] == "ap-guangzhou"
    assert seen["headers"]["Authorization"].startswith(f"TC3-HMAC-SHA256 Credential={TC_ID}/")
    assert json.loads(seen["body"]) == {
        "PhoneNumberSet": [PHONE],
        "SmsSdkAppId": "1400787878",
        "SignName": "网格随手拍",
        "TemplateId": "1888001",
        "TemplateParamSet": ["R-20250101-0007", "占道经营", "滨江路12号", "1月2日18时"],
        "SessionContext": "d-42",
    }


def test_both_providers_send_the_sign_in_code_with_its_own_template(aliyun, tencent):
    """The rider sign-in code goes through the same adapters: its template and the code as its one parameter."""
    templates = {**TEMPLATES, "login_code": "SMS_300000009"}
    sent = aliyun_sms(aliyun, SMS_TEMPLATES=templates).send(PHONE, "login_code", {"code": "482913"}, key="code-7")
    assert sent == "900619746936498440^0"
    query = aliyun.requests[0]["query"]
    assert query["TemplateCode"] == "SMS_300000009" and json.loads(query["TemplateParam"]) == {"code": "482913"}
    assert query["OutId"] == "code-7" and query["PhoneNumbers"] == "13912345678"

    tc_templates = json.dumps({"assigned": "1888001", "login_code": "1888009"})
    tencent_sms(tencent, SMS_TEMPLATES=tc_templates).send(PHONE, "login_code", {"code": "482913"}, key="code-7")
    body = json.loads(tencent.requests[0]["body"])
    assert (body["TemplateId"], body["TemplateParamSet"], body["SessionContext"]) == ("1888009", ["482913"], "code-7")


def test_tencent_region_comes_from_the_configuration(tencent):
    tencent_sms(tencent, SMS_TENCENT_REGION="ap-beijing").send(PHONE, "overdue", PARAMS, key="d-43")
    seen = tencent.requests[0]
    assert seen["headers"]["X-TC-Region"] == "ap-beijing"
    assert json.loads(seen["body"])["TemplateParamSet"] == ["R-20250101-0007", "占道经营", "1月2日18时"]


def test_tencent_with_a_wrong_key_fails_the_signature_check_for_good(tencent):
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent, secret="wrong").send(PHONE, "assigned", PARAMS, key="d-42")
    assert failure.value.permanent and "AuthFailure.SignatureFailure" in failure.value.reason


def test_tencent_per_number_throttling_waits_a_minute(tencent):
    tencent.reply = tencent_status(
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "the number of SMS messages sent from a single mobile number within 30 seconds exceeds the upper limit",
    )
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and failure.value.retry_after == 60


@pytest.mark.parametrize(
    "code, message",
    [
        ("InvalidParameterValue.IncorrectPhoneNumber", "invalid mobile number"),
        ("FailedOperation.TemplateIncorrectOrUnapproved", "template is not approved or request content does not match"),
        (
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "signature is not approved or signature information is wrong",
        ),
        ("LimitExceeded.AppCountryOrRegionInBlacklist", "the country or region is in the blacklist"),
    ],
)
def test_tencent_number_template_and_signature_errors_are_permanent(tencent, code, message):
    tencent.reply = tencent_status(code, message)
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42")
    assert failure.value.permanent and code in failure.value.reason


def test_tencent_request_level_rate_limit_waits(tencent):
    tencent.reply = (
        200,
        {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "too many requests"}, "RequestId": "T-2"}},
    )
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42")
    assert failure.value.retry_after == 60


def test_tencent_internal_error_and_http_failure_are_retried(tencent):
    tencent.reply = (
        200,
        {"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "request timeout"}, "RequestId": "T-3"}},
    )
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and failure.value.retry_after is None
    tencent.reply = (502, {"message": "Bad Gateway"})
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent


def test_tencent_timeout_is_retried(tencent):
    tencent.delay = 1.5
    with pytest.raises(DeliveryFailed) as failure:
        tencent_sms(tencent, SMS_TIMEOUT=0.3).send(PHONE, "assigned", PARAMS, key="d-42")
    assert not failure.value.permanent and "ClientNetworkError" in failure.value.reason


# --- the console, the choice, the parameters ---


def test_console_logs_the_message_in_chinese_and_returns_an_id(caplog):
    with caplog.at_level(logging.INFO, logger="gridsnap.sms"):
        message_id = sms_provider({}).send(PHONE, "assigned", PARAMS, key="d-42")
    assert message_id.startswith("console-")
    assert (
        f"SMS to {PHONE}: 新派单 R-20250101-0007：占道经营，地点：滨江路12号，请于 1月2日18时 前处理。" in caplog.text
    )


def test_a_missing_parameter_or_template_is_permanent(aliyun):
    with pytest.raises(DeliveryFailed) as failure:
        ConsoleSms().send(PHONE, "assigned", {"ref": "R-1"}, key="d-1")
    assert failure.value.permanent and "category" in failure.value.reason
    with pytest.raises(DeliveryFailed) as failure:
        aliyun_sms(aliyun).send(PHONE, "resolved", PARAMS, key="d-1")  # no template configured for it
    assert failure.value.permanent and not aliyun.requests


@pytest.mark.parametrize(
    "config, says",
    [
        ({"SMS_PROVIDER": "twilio"}, "Unknown SMS provider"),
        ({"SMS_PROVIDER": "aliyun", "SMS_SIGN_NAME": "x"}, "GRIDSNAP_SMS_ALIYUN_ACCESS_KEY_ID"),
        (
            {
                "SMS_PROVIDER": "tencent",
                "SMS_TENCENT_SECRET_ID": "a",
                "SMS_TENCENT_SECRET_KEY": "b",
                "SMS_SIGN_NAME": "c",
                "SMS_TEMPLATES": {"assigned": "1"},
            },
            "GRIDSNAP_SMS_TENCENT_APP_ID",
        ),
        (
            {
                "SMS_PROVIDER": "tencent",
                "SMS_TENCENT_SECRET_ID": "a",
                "SMS_TENCENT_SECRET_KEY": "b",
                "SMS_SIGN_NAME": "c",
                "SMS_TENCENT_APP_ID": "1",
                "SMS_TEMPLATES": {"assigned": "1"},
                "SMS_ENDPOINT": "http://sms.example.org",
            },
            "https",
        ),
        (
            {
                "SMS_PROVIDER": "aliyun",
                "SMS_ALIYUN_ACCESS_KEY_ID": "a",
                "SMS_ALIYUN_ACCESS_KEY_SECRET": "b",
                "SMS_SIGN_NAME": "c",
                "SMS_TEMPLATES": {"asigned": "SMS_1"},
            },
            "unknown kinds: asigned",
        ),
    ],
)
def test_a_bad_configuration_is_refused_with_a_clear_message(config, says):
    with pytest.raises(ValueError, match=says):
        sms_provider(config)


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("13912345678", "+8613912345678"),
        ("139 1234 5678", "+8613912345678"),
        ("+86 139-1234-5678", "+8613912345678"),
        ("008613912345678", "+8613912345678"),
        ("+852 9123 4567", "+85291234567"),
    ],
)
def test_normalise_phone_gives_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "1391234567", "02812345678", "not a number", "+86 139 1234 56789"])
def test_normalise_phone_refuses_what_cannot_take_a_text(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)


def test_the_environment_configures_the_provider(tencent, monkeypatch, tmp_path):
    from app.config import from_environment

    for name, value in {
        "PROVIDER": "tencent",
        "TENCENT_SECRET_ID": TC_ID,
        "TENCENT_SECRET_KEY": TC_KEY,
        "TENCENT_APP_ID": "1400787878",
        "SIGN_NAME": "网格随手拍",
        "ENDPOINT": tencent.base,
        "TEMPLATES": '{"overdue": "1888002"}',
    }.items():
        monkeypatch.setenv(f"GRIDSNAP_SMS_{name}", value)
    config = from_environment(str(tmp_path))
    assert config["SMS_TENCENT_REGION"] == "ap-guangzhou" and config["SMS_TIMEOUT"] == 10.0
    sms_provider(config).send(PHONE, "overdue", PARAMS, key="d-44")
    assert json.loads(tencent.requests[0]["body"])["TemplateId"] == "1888002"


def test_a_templates_setting_that_is_not_a_json_object_stops_the_start(monkeypatch, tmp_path):
    from app.config import from_environment

    monkeypatch.setenv("GRIDSNAP_SMS_TEMPLATES", "assigned=SMS_1")
    with pytest.raises(ValueError, match="GRIDSNAP_SMS_TEMPLATES must be a JSON object"):
        from_environment(str(tmp_path))

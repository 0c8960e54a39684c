"""Group robots against a local stand-in that checks each platform's documented signature and answers like it."""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest

from app.notify import DeliveryFailed
from app.notify.robots import RobotMessage, send_to_robot, validate_webhook
from tests.servers import free_port
from tests.stand_in import stand_in

SECRET = "SEC0123456789abcdef"
MESSAGE = RobotMessage(
    title="新派单：R-20250101-0007",
    lines=[
        ("编号", "R-20250101-0007"),
        ("类别", "占道经营"),
        ("地点", "清溪镇 滨江路\n12号"),
        ("优先级", "高"),
        ("期限", "2025-01-02 18:00"),
    ],
    url="https://gridsnap.example.org/triage/reports/7",
    key="n-7-assigned-1",
    kind="assigned",
)


class RobotStandIn(BaseHTTPRequestHandler):
    """Answers at /wecom, /dingtalk, /feishu and /generic as the platforms document, checking signatures."""

    def do_POST(self):
        server = self.server
        parts = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = {
            "path": parts.path,
            "query": dict(urllib.parse.parse_qsl(parts.query)),
            "headers": self.headers,
            "body": body,
            "json": json.loads(body),
        }
        server.requests.append(seen)
        if server.delay:
            time.sleep(server.delay)
        if server.canned:
            status, headers, answer = server.canned
        else:
            answer = getattr(self, "answer_" + parts.path.strip("/"))(seen)
            status, answer = answer if isinstance(answer, tuple) else (200, answer)
            headers = {}
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (timeout test)
            pass

    def answer_wecom(self, seen):
        assert seen["query"]["key"] == "KEY"
        return {"errcode": 0, "errmsg": "ok"}

    def answer_dingtalk(self, seen):
        """DingTalk: sign = base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), in the query."""
        secret = self.server.secrets.get("dingtalk")
        if secret:
            timestamp = seen["query"].get("timestamp", "")
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
            ).decode()
            fresh = timestamp.isdigit() and abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
            if not fresh or not hmac.compare_digest(seen["query"].get("sign", ""), expected):
                return {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"}
        return {"errcode": 0, "errmsg": "ok"}

    def answer_feishu(self, seen):
        """Feishu: sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), in the body."""
        secret = self.server.secrets.get("feishu")
        if secret:
            timestamp = str(seen["json"].get("timestamp", ""))
            expected = base64.b64encode(
                hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
            ).decode()
            fresh = timestamp.isdigit() and abs(int(timestamp) - time.time()) < 3600
            if not fresh or not hmac.compare_digest(str(seen["json"].get("sign", "")), expected):
                return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        return {"code": 0, "msg": "success", "data": {}}

    def answer_generic(self, seen):
        secret = self.server.secrets.get("generic")
        if secret:
            expected = "sha256=" + hmac.new(secret.encode(), seen["body"], hashlib.sha256).hexdigest()
            if not hmac.compare_digest(seen["headers"].get("X-GridSnap-Signature", ""), expected):
                return 401, {"error": "bad signature"}
        return {"ok": True}

    def log_message(self, *args):
        pass


@pytest.fixture
def robots():
    """A stand-in robot server on a free loopback port, stopped afterwards."""
    with stand_in(RobotStandIn, secrets={}, canned=None, delay=0.0) as server:
        yield server


def test_wecom_gets_markdown_with_every_line_and_the_link(robots):
    send_to_robot("wecom", robots.base + "/wecom?key=KEY", None, MESSAGE)
    sent = robots.requests[0]["json"]
    assert sent["msgtype"] == "markdown"
    content = sent["markdown"]["content"]
    assert content.startswith("**新派单：R-20250101-0007**")
    assert "> 类别：占道经营" in content and "> 期限：2025-01-02 18:00" in content
    assert "> 地点：清溪镇 滨江路 12号" in content  # a newline in report text stays on its line
    assert "[查看详情](https://gridsnap.example.org/triage/reports/7)" in content
    assert robots.requests[0]["headers"]["Content-Type"] == "application/json; charset=utf-8"


def test_dingtalk_signature_passes_the_documented_check(robots):
    robots.secrets["dingtalk"] = SECRET
    send_to_robot("dingtalk", robots.base + "/dingtalk?access_token=TOKEN", SECRET, MESSAGE)
    seen = robots.requests[0]
    assert seen["query"]["access_token"] == "TOKEN"
    assert len(seen["query"]["timestamp"]) == 13  # milliseconds
    assert seen["json"]["msgtype"] == "markdown"
    assert seen["json"]["markdown"]["title"] == MESSAGE.title
    assert "- 优先级：高" in seen["json"]["markdown"]["text"]


def test_dingtalk_sign_is_url_encoded_in_the_query(robots, monkeypatch):
    robots.secrets["dingtalk"] = SECRET
    raw_paths = []
    original = RobotStandIn.do_POST

    def keep_path(self):
        raw_paths.append(self.path)
        original(self)

    monkeypatch.setattr(RobotStandIn, "do_POST", keep_path)
    send_to_robot("dingtalk", robots.base + "/dingtalk?access_token=TOKEN", SECRET, MESSAGE)
    raw_sign = raw_paths[0].split("sign=", 1)[1]
    assert urllib.parse.unquote_plus(raw_sign) == robots.requests[0]["query"]["sign"]
    assert not set("+/=") & set(raw_sign)  # base64's own characters arrive percent-encoded


def test_dingtalk_with_a_wrong_secret_is_refused_for_good(robots):
    robots.secrets["dingtalk"] = SECRET
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("dingtalk", robots.base + "/dingtalk?access_token=TOKEN", "not-the-secret", MESSAGE)
    assert failure.value.permanent and "310000" in failure.value.reason


def test_feishu_post_signature_passes_the_documented_check(robots):
    robots.secrets["feishu"] = SECRET
    send_to_robot("feishu", robots.base + "/feishu", SECRET, MESSAGE)
    sent = robots.requests[0]["json"]
    assert sent["msg_type"] == "post" and len(sent["timestamp"]) == 10  # seconds
    post = sent["content"]["post"]["zh_cn"]
    assert post["title"] == MESSAGE.title
    assert [{"tag": "text", "text": "类别：占道经营"}] in post["content"]
    assert post["content"][-1] == [{"tag": "a", "text": "查看详情", "href": MESSAGE.url}]


def test_a_message_in_english_says_so_to_feishu_and_keeps_its_own_link_text(robots):
    english = RobotMessage(
        title="Dispatched: R-7",
        lines=[("Category", "Street vending")],
        url=MESSAGE.url,
        key="k",
        link_text="View details",
        language="en",
    )
    send_to_robot("feishu", robots.base + "/feishu", "", english)
    post = robots.requests[0]["json"]["content"]["post"]["en_us"]
    assert [{"tag": "text", "text": "Category: Street vending"}] in post["content"]
    assert post["content"][-1] == [{"tag": "a", "text": "View details", "href": MESSAGE.url}]


def test_feishu_with_a_wrong_secret_is_refused_for_good(robots):
    robots.secrets["feishu"] = SECRET
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("feishu", robots.base + "/feishu", "wrong", MESSAGE)
    assert failure.value.permanent and "19021" in failure.value.reason


def test_feishu_unsigned_robot_gets_no_signature_fields(robots):
    send_to_robot("feishu", robots.base + "/feishu", "", MESSAGE)
    assert "sign" not in robots.requests[0]["json"] and "timestamp" not in robots.requests[0]["json"]


def test_generic_webhook_gets_plain_json_signed_over_the_exact_bytes(robots):
    robots.secrets["generic"] = SECRET
    send_to_robot("generic", robots.base + "/generic", SECRET, MESSAGE)
    seen = robots.requests[0]
    assert seen["json"] == {
        "kind": "assigned",
        "title": MESSAGE.title,
        "lines": dict(MESSAGE.lines),
        "url": MESSAGE.url,
        "key": "n-7-assigned-1",
    }
    assert seen["headers"]["X-GridSnap-Delivery"] == "n-7-assigned-1"
    assert seen["headers"]["X-GridSnap-Signature"].startswith("sha256=")


def test_generic_webhook_without_a_secret_sends_no_signature(robots):
    send_to_robot("generic", robots.base + "/generic", None, MESSAGE)
    assert "X-GridSnap-Signature" not in robots.requests[0]["headers"]
    assert robots.requests[0]["headers"]["X-GridSnap-Delivery"] == MESSAGE.key


def test_generic_receiver_refusing_the_signature_is_permanent(robots):
    robots.secrets["generic"] = SECRET
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("generic", robots.base + "/generic", "wrong", MESSAGE)
    assert failure.value.permanent and "HTTP 401" in failure.value.reason


@pytest.mark.parametrize(
    "kind, path, answer, code",
    [
        ("wecom", "/wecom?key=KEY", {"errcode": 45009, "errmsg": "api freq out of limit"}, "45009"),
        (
            "dingtalk",
            "/dingtalk?access_token=T",
            {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
            "130101",
        ),
        ("feishu", "/feishu", {"code": 9499, "msg": "too many request"}, "9499"),
        ("feishu", "/feishu", {"code": 11232, "msg": "frequency limited"}, "11232"),
    ],
)
def test_rate_limit_codes_in_a_200_body_are_retried_after_a_minute(robots, kind, path, answer, code):
    robots.canned = (200, {}, answer)
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot(kind, robots.base + path, None, MESSAGE)
    assert not failure.value.permanent and failure.value.retry_after == 60 and code in failure.value.reason


@pytest.mark.parametrize(
    "kind, path, answer",
    [
        ("wecom", "/wecom?key=KEY", {"errcode": 93000, "errmsg": "invalid webhook url"}),
        ("dingtalk", "/dingtalk?access_token=T", {"errcode": 300001, "errmsg": "token is not exist"}),
        ("feishu", "/feishu", {"code": 19024, "msg": "Key Words Not Found"}),
        (
            "feishu",
            "/feishu",
            {"StatusCode": 19001, "StatusMessage": "param invalid: incoming webhook access token invalid"},
        ),
    ],
)
def test_other_error_codes_in_a_200_body_are_permanent(robots, kind, path, answer):
    robots.canned = (200, {}, answer)
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot(kind, robots.base + path, None, MESSAGE)
    assert failure.value.permanent and failure.value.retry_after is None


def test_429_waits_as_long_as_retry_after_says(robots):
    robots.canned = (429, {"Retry-After": "17"}, {"error": "slow down"})
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("generic", robots.base + "/generic", None, MESSAGE)
    assert not failure.value.permanent and failure.value.retry_after == 17


def test_429_with_an_http_date_retry_after(robots):
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    robots.canned = (429, {"Retry-After": when}, b"")
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("wecom", robots.base + "/wecom?key=KEY", None, MESSAGE)
    assert 100 < failure.value.retry_after <= 120


def test_500_is_retried(robots):
    robots.canned = (500, {}, b"<html>Internal Server Error</html>")
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("dingtalk", robots.base + "/dingtalk?access_token=T", SECRET, MESSAGE)
    assert not failure.value.permanent and failure.value.retry_after is None
    assert "HTTP 500" in failure.value.reason


def test_404_is_permanent(robots):
    robots.canned = (404, {}, b"Not Found")
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("feishu", robots.base + "/feishu", SECRET, MESSAGE)
    assert failure.value.permanent and "HTTP 404" in failure.value.reason


def test_a_redirect_is_not_followed(robots):
    robots.canned = (302, {"Location": robots.base + "/generic"}, b"")
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("generic", robots.base + "/generic", None, MESSAGE)
    assert failure.value.permanent and len(robots.requests) == 1


def test_a_200_without_json_from_a_chat_platform_is_retried(robots):
    robots.canned = (200, {}, b"<html>portal</html>")
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("wecom", robots.base + "/wecom?key=KEY", None, MESSAGE)
    assert not failure.value.permanent


def test_a_slow_receiver_times_out_and_is_retried(robots):
    robots.delay = 1.0
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("generic", robots.base + "/generic", None, MESSAGE, timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert not failure.value.permanent and "0.2 s" in failure.value.reason


def test_connection_refused_is_retried():
    url = f"http://127.0.0.1:{free_port()}/generic"  # nothing listens there
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("generic", url, None, MESSAGE, timeout=1)
    assert not failure.value.permanent


def test_a_url_that_fails_validation_at_send_time_is_permanent():
    with pytest.raises(DeliveryFailed) as failure:
        send_to_robot("wecom", "https://evil.example.com/cgi-bin/webhook/send?key=K", None, MESSAGE)
    assert failure.value.permanent and "qyapi.weixin.qq.com" in failure.value.reason


@pytest.mark.parametrize(
    "kind, url",
    [
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=abc"),
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/abc"),
        ("feishu", "https://open.larksuite.com/open-apis/bot/v2/hook/abc"),
        ("generic", "https://hooks.county.example.gov.cn/gridsnap"),
        ("dingtalk", "http://127.0.0.1:8080/robot/send"),
        ("generic", "http://localhost:9000/hook"),
    ],
)
def test_webhook_urls_that_are_accepted(kind, url):
    validate_webhook(kind, url)


@pytest.mark.parametrize(
    "kind, url, says",
    [
        ("wecom", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "https"),
        ("generic", "http://hooks.example.org/gridsnap", "https"),
        ("dingtalk", "https://oapi.dingtalk.com.evil.example/robot/send", "oapi.dingtalk.com"),
        ("feishu", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "open.feishu.cn"),
        ("generic", "ftp://files.example.org/x", "web address"),
        ("generic", "not a url", "web address"),
        ("generic", "https://user:pw@hooks.example.org/x", "password"),
        ("slack", "https://hooks.slack.com/services/x", "Unknown robot kind"),
    ],
)
def test_webhook_urls_that_are_refused_with_a_clear_message(kind, url, says):
    with pytest.raises(ValueError, match=says):
        validate_webhook(kind, url)

"""Department group robots: WeCom, DingTalk and Feishu chat webhooks, and a generic signed JSON webhook."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from app.sending import DeliveryFailed

KINDS = ("wecom", "dingtalk", "feishu", "generic")
HOSTS = {
    "wecom": ("qyapi.weixin.qq.com",),
    "dingtalk": ("oapi.dingtalk.com",),
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
}
EXAMPLES = {
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=...",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/...",
    "generic": "https://receiver.example.org/gridsnap",
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Body error codes meaning "too many messages": WeCom api freq out of limit, DingTalk sending too fast,
# Feishu request limit / rate limit. The platforms allow about 20 messages a minute per robot.
RATE_LIMIT_CODES = {"wecom": {45009}, "dingtalk": {130101}, "feishu": {9499, 11232}}
RATE_LIMIT_WAIT = 60.0
LINK_TEXT = "查看详情"  # the default; messages carry their own in the county's language
USER_AGENT = "GridSnap-Notify/1"


@dataclass(frozen=True)
class RobotMessage:
    """One notice for a department chat: a title, labelled lines, a link, and the delivery key."""

    title: str
    lines: Sequence[tuple[str, str]]  # (label, value): reference, category, place, priority, deadline
    url: str
    key: str  # the same for every attempt at one delivery, so receivers can drop duplicates
    kind: str = "notice"  # what happened (e.g. "assigned", "overdue"); only the generic webhook sends it
    link_text: str = LINK_TEXT  # "查看详情", in the language the message is written in
    language: str = "zh_CN"  # of the title and labels (Feishu's post names it)

    @property
    def chinese(self) -> bool:
        return self.language.lower().startswith("zh")


def validate_webhook(kind: str, url: str) -> None:
    """Raise ValueError unless url is a webhook address fit for this robot kind."""
    if kind not in KINDS:
        raise ValueError(f"Unknown robot kind {kind!r}: use one of {', '.join(KINDS)}.")
    parts = urllib.parse.urlsplit((url or "").strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"Not a web address; a {kind} robot URL looks like {EXAMPLES[kind]}")
    if parts.username or parts.password:
        raise ValueError("The robot URL must not carry a user name or password.")
    if host in LOOPBACK:  # local integrators and tests: any kind, plain http allowed
        return
    if parts.scheme != "https":
        raise ValueError("The robot URL must use https (plain http only for 127.0.0.1 or localhost).")
    if kind in HOSTS and host not in HOSTS[kind]:
        raise ValueError(f"A {kind} robot URL must be on {' or '.join(HOSTS[kind])}, like {EXAMPLES[kind]}")


def send_to_robot(kind: str, url: str, secret: str | None, message: RobotMessage, *, timeout: float = 5.0) -> None:
    """Post one message to a robot webhook, signed as its platform wants; raise DeliveryFailed otherwise."""
    try:
        validate_webhook(kind, url)
    except ValueError as err:
        raise DeliveryFailed(str(err), permanent=True) from err
    target, body, headers = BUILDERS[kind](url, secret or "", message)
    status, answer_headers, answer = _post(target, body, headers, timeout)
    _check_answer(kind, status, answer_headers.get("Retry-After"), answer)


def _markdown_lines(message: RobotMessage, bullet: str) -> list[str]:
    colon = "：" if message.chinese else ": "
    return [f"{bullet}{_one_line(label)}{colon}{_one_line(value)}" for label, value in message.lines]


def _one_line(text: str) -> str:
    """Keep a value on its line: report text must not add headings or lines of its own to the message."""
    return " ".join(str(text).split())


def _wecom(url: str, secret: str, message: RobotMessage) -> tuple[str, bytes, dict]:
    # WeCom robots have no signature: the key in the URL is the secret.
    lines = [
        f"**{_one_line(message.title)}**",
        *_markdown_lines(message, "> "),
        f"[{message.link_text}]({message.url})",
    ]
    return url, _json({"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}), {}


def _dingtalk(url: str, secret: str, message: RobotMessage) -> tuple[str, bytes, dict]:
    title = _one_line(message.title)
    # DingTalk markdown needs a blank line between lines, else they run together.
    text = "\n\n".join([f"#### {title}", *_markdown_lines(message, "- "), f"[{message.link_text}]({message.url})"])
    if secret:
        url = _with_query(url, dingtalk_signature(secret, int(time.time() * 1000)))
    return url, _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}}), {}


def dingtalk_signature(secret: str, timestamp_ms: int) -> dict[str, str]:
    """DingTalk's signing: base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": str(timestamp_ms), "sign": base64.b64encode(digest).decode()}


def _feishu(url: str, secret: str, message: RobotMessage) -> tuple[str, bytes, dict]:
    colon = "：" if message.chinese else ": "
    rows = [[{"tag": "text", "text": f"{_one_line(label)}{colon}{_one_line(value)}"}] for label, value in message.lines]
    rows.append([{"tag": "a", "text": message.link_text, "href": message.url}])
    body: dict = {
        "msg_type": "post",
        "content": {
            "post": {"zh_cn" if message.chinese else "en_us": {"title": _one_line(message.title), "content": rows}}
        },
    }
    if secret:
        body.update(feishu_signature(secret, int(time.time())))
    return url, _json(body), {}


def feishu_signature(secret: str, timestamp_s: int) -> dict[str, str]:
    """Feishu's signing: base64 HMAC-SHA256 of an empty message keyed by "timestamp\\nsecret"."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return {"timestamp": str(timestamp_s), "sign": base64.b64encode(digest).decode()}


def _generic(url: str, secret: str, message: RobotMessage) -> tuple[str, bytes, dict]:
    body = _json(
        {
            "kind": message.kind,
            "title": message.title,
            "lines": dict(message.lines),
            "url": message.url,
            "key": message.key,
        }
    )
    headers = {"X-GridSnap-Delivery": message.key}
    if secret:
        headers["X-GridSnap-Signature"] = generic_signature(secret, body)
    return url, body, headers


def generic_signature(secret: str, body: bytes) -> str:
    """The X-GridSnap-Signature header value: sha256=<hex HMAC-SHA256 of the exact body bytes>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


BUILDERS = {"wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu, "generic": _generic}


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urllib.parse.urlsplit(url).query else "?") + urllib.parse.urlencode(params)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it would turn the POST into a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int, http.client.HTTPMessage, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read(65536)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, _read_quietly(err)
    except urllib.error.URLError as err:
        raise DeliveryFailed(f"cannot reach the robot: {err.reason}") from err
    except TimeoutError as err:
        raise DeliveryFailed(f"no answer within {timeout:g} s") from err
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryFailed(f"connection failed: {err!r}") from err


def _read_quietly(response) -> bytes:
    try:
        return response.read(65536)
    except (OSError, http.client.HTTPException):
        return b""


def _check_answer(kind: str, status: int, retry_after: str | None, answer: bytes) -> None:
    """Raise DeliveryFailed unless the robot's answer says the message was taken."""
    data = _parse(answer)
    code, text = _body_error(kind, data)
    if code in RATE_LIMIT_CODES.get(kind, ()):
        raise DeliveryFailed(f"{kind} rate limit ({code}: {text})", retry_after=RATE_LIMIT_WAIT)
    if status == 429:
        raise DeliveryFailed(f"HTTP 429 from the {kind} robot", retry_after=_retry_after(retry_after))
    if status >= 500 or status == 408:
        raise DeliveryFailed(f"HTTP {status} from the {kind} robot{_snippet(text, answer)}")
    if status >= 300:
        raise DeliveryFailed(f"HTTP {status} from the {kind} robot{_snippet(text, answer)}", permanent=True)
    if kind == "generic":
        return  # any 2xx: the receiver took it
    if data is None:
        raise DeliveryFailed(f"the {kind} robot answered HTTP {status} with no JSON{_snippet('', answer)}")
    if code:
        raise DeliveryFailed(f"{kind} error {code}: {text}", permanent=True)


def _parse(answer: bytes) -> dict | None:
    try:
        data = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _body_error(kind: str, data: dict | None) -> tuple[int, str]:
    """The platform's error code and message in an answer body (0 when none)."""
    if not data:
        return 0, ""
    if kind == "feishu":  # newer answers say code/msg, older ones StatusCode/StatusMessage
        code, text = data.get("code", data.get("StatusCode", 0)), data.get("msg", data.get("StatusMessage", ""))
    else:
        code, text = data.get("errcode", 0), data.get("errmsg", "")
    try:
        return int(code or 0), str(text or "")
    except (TypeError, ValueError):
        return -1, f"unreadable error code {code!r}"


def _retry_after(header: str | None) -> float:
    """Seconds to wait from a 429's Retry-After header (seconds or an HTTP date), else a minute."""
    value = (header or "").strip()
    if value.isdigit():
        return float(value)
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return RATE_LIMIT_WAIT
        return max(0.0, when.timestamp() - time.time())
    return RATE_LIMIT_WAIT


def _snippet(text: str, answer: bytes) -> str:
    shown = text or answer[:120].decode("utf-8", "replace")
    return f": {shown}" if shown.strip() else ""

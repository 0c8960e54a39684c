"""The seeded reference data: report categories and handling departments (idempotent upserts)."""

from sqlalchemy import select

from app.extensions import db
from app.models import Category, Department
from app.triage.models import ResponseTemplate
from app.triage.workflow import Status

DEPARTMENTS = [
    ("traffic_police", "交警大队", "Traffic police"),
    ("urban_management", "城管执法局", "Urban management"),
    ("property", "物业服务中心", "Property management"),
    ("market_supervision", "市场监管局", "Market supervision (elevator safety)"),
    ("fire_brigade", "消防救援大队", "Fire and rescue"),
    ("public_works", "住建局市政所", "Public works"),
    ("environment", "生态环境局", "Environment bureau"),
]

# code, zh, en, icon, colour, hazard, default department, zh description, en description
CATEGORIES = [
    (
        "elevator_hazard",
        "电梯安全隐患",
        "Elevator safety hazard",
        "elevator",
        "#c0392b",
        True,
        "market_supervision",
        "电梯困人、异响、门不关、年检过期",
        "Trapped passengers, noises, doors, expired inspection",
    ),
    (
        "fire_lane_blocked",
        "消防通道堵塞",
        "Fire lane blocked",
        "fire",
        "#d35400",
        True,
        "fire_brigade",
        "消防通道、安全出口被车辆或杂物堵塞",
        "Fire lanes or exits blocked by cars or goods",
    ),
    (
        "manhole_missing",
        "井盖缺失",
        "Missing manhole cover",
        "manhole",
        "#8e44ad",
        True,
        "public_works",
        "井盖缺失、破损、移位",
        "Missing, broken or displaced manhole covers",
    ),
    (
        "illegal_parking",
        "乱停乱放",
        "Illegal parking",
        "parking",
        "#2c3e50",
        False,
        "traffic_police",
        "机动车、非机动车占用人行道或盲道",
        "Cars or bikes on pavements and tactile paths",
    ),
    (
        "noise",
        "噪音扰民",
        "Noise nuisance",
        "noise",
        "#16a085",
        False,
        "environment",
        "施工、商铺、广场舞等噪音",
        "Construction, shops, loudspeakers",
    ),
    (
        "road_damage",
        "道路破损",
        "Road damage",
        "road",
        "#7f8c8d",
        False,
        "public_works",
        "路面坑洼、塌陷、人行道砖松动",
        "Potholes, subsidence, loose paving",
    ),
    (
        "streetlight_broken",
        "路灯损坏",
        "Broken street light",
        "light",
        "#f1c40f",
        False,
        "public_works",
        "路灯不亮、常亮、灯杆倾斜",
        "Lights out, on all day, leaning poles",
    ),
    (
        "garbage",
        "垃圾乱堆",
        "Garbage dumped",
        "garbage",
        "#27ae60",
        False,
        "urban_management",
        "垃圾堆放、清运不及时",
        "Dumped rubbish, missed collections",
    ),
    (
        "street_vending",
        "占道经营",
        "Street vending",
        "vending",
        "#e67e22",
        False,
        "urban_management",
        "店外经营、流动摊贩占道",
        "Shops and stalls occupying the street",
    ),
    ("other", "其他", "Other", "other", "#555555", False, None, "其他城市管理问题", "Any other problem"),
]

# The workflow's ready-made notes: target status, zh, en
RESPONSE_TEMPLATES = [
    (
        Status.ACCEPTED,
        "您的反映已受理，我们会尽快派单处理。",
        "Thank you, your report is accepted and will be dispatched soon.",
    ),
    (
        Status.REJECTED,
        "照片无法看清问题或位置，请重新拍摄后再提交。",
        "The photo does not show the problem or the place clearly; please take another one.",
    ),
    (
        Status.REJECTED,
        "该问题不属于城市管理范围，请拨打12345热线咨询。",
        "This is outside what we handle; please call the 12345 hotline.",
    ),
    (
        Status.ASSIGNED,
        "请于时限内到现场核实处置，并上传处置后照片。",
        "Please check on site within the deadline and upload an after photo.",
    ),
    (Status.RESOLVED, "已到现场处置完毕，现场已恢复正常。", "Handled on site; the place is back to normal."),
    (
        Status.IN_PROGRESS,
        "回访核查发现问题仍然存在，请继续处理。",
        "The follow-up check found the problem still there; please continue.",
    ),
    (
        Status.CLOSED,
        "经核查，问题已解决。感谢您的反映！",
        "Checked: the problem is solved. Thank you for reporting it!",
    ),
    (Status.ACCEPTED, "问题再次出现，重新受理。", "The problem came back; the report is reopened."),
]


# Always their own department, wherever they are (not the grid's): lifts, blocked fire lanes.
OWN_DEPARTMENT = ("elevator_hazard", "fire_lane_blocked")


def deadlines(hazard: bool) -> tuple[int, int]:
    """Hours to accept and to resolve a category's reports: hazards are chased within a day."""
    return (2, 24) if hazard else (24, 168)


def seed_reference_data() -> None:
    """Create the departments and categories that are missing; existing rows are left as edited."""
    depts = {d.code: d for d in db.session.scalars(select(Department))}
    for code, zh, en in DEPARTMENTS:
        if code not in depts:
            depts[code] = Department(code=code, name_zh=zh, name_en=en)
            db.session.add(depts[code])
    db.session.flush()
    existing = {c.code for c in db.session.scalars(select(Category))}
    for order, (code, zh, en, icon, colour, hazard, dept, dzh, den) in enumerate(CATEGORIES):
        if code in existing:
            continue
        accept_hours, resolve_hours = deadlines(hazard)
        db.session.add(
            Category(
                code=code,
                name_zh=zh,
                name_en=en,
                icon=icon,
                color=colour,
                hazard=hazard,
                sort_order=order,
                description_zh=dzh,
                description_en=den,
                accept_hours=accept_hours,
                resolve_hours=resolve_hours,
                default_department_id=depts[dept].id if dept else None,
                own_department=code in OWN_DEPARTMENT,
            )
        )
    db.session.flush()
    seed_response_templates()


def seed_response_templates() -> None:
    """Add the default response templates when there are none (admins edit them afterwards)."""
    if db.session.scalar(select(ResponseTemplate.id).limit(1)) is not None:
        return
    for order, (status, zh, en) in enumerate(RESPONSE_TEMPLATES):
        db.session.add(ResponseTemplate(target_status=status.value, text_zh=zh, text_en=en, sort_order=order))
    db.session.flush()

"""The seeded reference data: report categories and handling departments (idempotent upserts)."""
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Department

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
    ("elevator_hazard", "电梯安全隐患", "Elevator safety hazard", "elevator", "#c0392b", True,
     "market_supervision", "电梯困人、异响、门不关、年检过期", "Trapped passengers, noises, doors, expired inspection"),
    ("fire_lane_blocked", "消防通道堵塞", "Fire lane blocked", "fire", "#d35400", True,
     "fire_brigade", "消防通道、安全出口被车辆或杂物堵塞", "Fire lanes or exits blocked by cars or goods"),
    ("manhole_missing", "井盖缺失", "Missing manhole cover", "manhole", "#8e44ad", True,
     "public_works", "井盖缺失、破损、移位", "Missing, broken or displaced manhole covers"),
    ("illegal_parking", "乱停乱放", "Illegal parking", "parking", "#2c3e50", False,
     "traffic_police", "机动车、非机动车占用人行道或盲道", "Cars or bikes on pavements and tactile paths"),
    ("noise", "噪音扰民", "Noise nuisance", "noise", "#16a085", False,
     "environment", "施工、商铺、广场舞等噪音", "Construction, shops, loudspeakers"),
    ("road_damage", "道路破损", "Road damage", "road", "#7f8c8d", False,
     "public_works", "路面坑洼、塌陷、人行道砖松动", "Potholes, subsidence, loose paving"),
    ("streetlight_broken", "路灯损坏", "Broken street light", "light", "#f1c40f", False,
     "public_works", "路灯不亮、常亮、灯杆倾斜", "Lights out, on all day, leaning poles"),
    ("garbage", "垃圾乱堆", "Garbage dumped", "garbage", "#27ae60", False,
     "urban_management", "垃圾堆放、清运不及时", "Dumped rubbish, missed collections"),
    ("street_vending", "占道经营", "Street vending", "vending", "#e67e22", False,
     "urban_management", "店外经营、流动摊贩占道", "Shops and stalls occupying the street"),
    ("other", "其他", "Other", "other", "#555555", False,
     None, "其他城市管理问题", "Any other problem"),
]


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
        db.session.add(Category(
            code=code, name_zh=zh, name_en=en, icon=icon, color=colour, hazard=hazard,
            sort_order=order, description_zh=dzh, description_en=den,
            accept_hours=2 if hazard else 24, resolve_hours=24 if hazard else 168,
            default_department_id=depts[dept].id if dept else None))
    db.session.flush()
    from app.triage.services import seed_response_templates  # the workflow's ready-made notes
    seed_response_templates()

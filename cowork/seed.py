"""Demo data for an empty database: three cities, five space types on drawn floors, four users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from tortoise.transactions import in_transaction

from cowork.accounts.passwords import hash_password
from cowork.domain.policy import DEFAULT_POLICY
from cowork.domain.schedule import WeeklyHours
from cowork.store.models import Amenity, Closure, Location, Space, User

PLAN_WIDTH, PLAN_HEIGHT = 100, 60  # floor-plan units every floor is drawn in
GAP = 2
# Two nodes seeding at once serialize on this lock; the loser sees the winner's rows.
_SEED_LOCK = 0x636F776F726B  # "cowork"

AMENITIES = {
    "wifi": "Wi-Fi",
    "monitor": "External monitor",
    "standing_desk": "Standing desk",
    "whiteboard": "Whiteboard",
    "video_conf": "Video conferencing",
    "phone": "Phone",
    "locker": "Locker",
    "kitchen": "Kitchen access",
    "projector": "Projector",
    "quiet": "Quiet zone",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE_HOURS = {
    **{d: [["08:00", "20:00"]] for d in WEEKDAYS},
    "sat": [["09:00", "14:00"]],
}
LISBON_HOURS = {
    **{d: [["08:30", "13:00"], ["14:00", "19:30"]] for d in WEEKDAYS},
    "sat": [["10:00", "14:00"]],
}
ALWAYS_OPEN = WeeklyHours.always_open().to_dict()
# Fixed-date Italian public holidays (month, day, name).
ITALIAN_HOLIDAYS = (
    (1, 1, "Capodanno"),
    (1, 6, "Epifania"),
    (4, 25, "Festa della Liberazione"),
    (5, 1, "Festa del Lavoro"),
    (6, 2, "Festa della Repubblica"),
    (8, 15, "Ferragosto"),
    (11, 1, "Ognissanti"),
    (12, 7, "Sant'Ambrogio (Milan)"),
    (12, 8, "Immacolata"),
    (12, 25, "Natale"),
    (12, 26, "Santo Stefano"),
)


@dataclass(frozen=True)
class Kind:
    """One row of similar spaces in a floor plan."""

    type: str
    prefix: str
    count: int
    width: int
    height: int
    capacity: int
    hourly_cents: int
    daily_cents: int | None
    amenities: tuple[str, ...]


# Prices in the location's currency (cents or pence).
HOT_DESK = Kind("desk", "Hot desk", 8, 10, 8, 1, 0, None, ("wifi", "locker"))
FOCUS_DESK = Kind(
    "desk", "Focus desk", 4, 10, 8, 1, 400, 2400, ("wifi", "monitor", "standing_desk", "quiet")
)
PHONE_BOOTH = Kind("phone_booth", "Phone booth", 3, 6, 6, 1, 0, None, ("wifi", "phone", "quiet"))
MEETING_SMALL = Kind(
    "meeting_room", "Huddle room", 2, 18, 14, 4, 2000, 12000, ("wifi", "whiteboard", "monitor")
)
MEETING_LARGE = Kind(
    "meeting_room",
    "Boardroom",
    1,
    30,
    18,
    12,
    4500,
    28000,
    ("wifi", "whiteboard", "video_conf", "monitor"),
)
OFFICE = Kind(
    "private_office",
    "Office",
    3,
    22,
    16,
    4,
    3500,
    21000,
    ("wifi", "monitor", "whiteboard", "locker", "phone"),
)
EVENT = Kind(
    "event_space", "Event hall", 1, 44, 22, 60, 12000, 70000, ("wifi", "projector", "kitchen")
)


@dataclass(frozen=True)
class LocationSpec:
    key: str
    name: str
    city: str
    address: str
    timezone: str
    currency: str
    description: str
    opening_hours: dict[str, list[list[str]]]
    floors: tuple[tuple[str, tuple[Kind, ...]], ...]
    managed: bool = False
    policy: tuple[tuple[int, int], ...] = ()


LOCATIONS = (
    LocationSpec(
        "milan-centrale",
        "Cowork Milano Centrale",
        "Milan",
        "Via Vittor Pisani 16, 20124 Milano",
        "Europe/Rome",
        "EUR",
        "Two floors next to Milano Centrale station.",
        OFFICE_HOURS,
        (
            ("Ground", (HOT_DESK, PHONE_BOOTH, MEETING_SMALL, MEETING_LARGE)),
            ("First", (FOCUS_DESK, OFFICE, EVENT)),
        ),
        managed=True,
    ),
    LocationSpec(
        "milan-isola",
        "Cowork Milano Isola",
        "Milan",
        "Via Pastrengo 12, 20159 Milano",
        "Europe/Rome",
        "EUR",
        "A quiet loft in the Isola district.",
        OFFICE_HOURS,
        (("Loft", (HOT_DESK, FOCUS_DESK, PHONE_BOOTH, MEETING_SMALL, OFFICE)),),
        managed=True,
    ),
    LocationSpec(
        "london-shoreditch",
        "Cowork London Shoreditch",
        "London",
        "86-90 Paul Street, London EC2A 4NE",
        "Europe/London",
        "GBP",
        "Open around the clock, every day.",
        ALWAYS_OPEN,
        (
            ("Ground", (HOT_DESK, PHONE_BOOTH, MEETING_LARGE, EVENT)),
            ("Mezzanine", (FOCUS_DESK, OFFICE, MEETING_SMALL)),
        ),
        policy=((48, 100), (24, 50)),
    ),
    LocationSpec(
        "lisbon-cais",
        "Cowork Lisboa Cais do Sodré",
        "Lisbon",
        "Rua da Boavista 69, 1200-066 Lisboa",
        "Europe/Lisbon",
        "EUR",
        "By the river, with a lunch break.",
        LISBON_HOURS,
        (("Main", (HOT_DESK, PHONE_BOOTH, MEETING_SMALL, OFFICE)),),
    ),
)


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    password: str


USERS = (
    ("admin@example.com", "Ada Admin", "admin"),
    ("manager@example.com", "Marco Manager", "manager"),
    ("member@example.com", "Mia Member", "member"),
    ("member2@example.com", "Max Member", "member"),
)


@dataclass
class SeedReport:
    created: bool = False
    locations: int = 0
    spaces: int = 0
    amenities: int = 0
    closures: int = 0
    users: int = 0
    logins: list[Login] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> list[str]:
        """Human-readable summary for the CLI."""
        if not self.created:
            return ["Demo data: the database already has locations; nothing seeded."]
        head = (
            f"Demo data: {self.locations} locations, {self.spaces} spaces, "
            f"{self.amenities} amenities, {self.closures} closures, {self.users} users."
        )
        return [head, *(f"  {x.role:<8} {x.email}  password: {x.password}" for x in self.logins)]


def layout(kinds: tuple[Kind, ...]) -> list[tuple[Kind, int, int]]:
    """Shelf-pack spaces left to right, top to bottom, in a PLAN_WIDTH x PLAN_HEIGHT plan."""
    placed: list[tuple[Kind, int, int]] = []
    x = y = GAP
    shelf = 0
    for kind in kinds:
        for _ in range(kind.count):
            if x + kind.width > PLAN_WIDTH - GAP:
                x, y, shelf = GAP, y + shelf + GAP, 0
            if y + kind.height > PLAN_HEIGHT - GAP:
                raise ValueError(f"floor plan overflows at {kind.prefix}")
            placed.append((kind, x, y))
            x += kind.width + GAP
            shelf = max(shelf, kind.height)
    return placed


def next_holiday(today: date) -> tuple[date, str]:
    """The first fixed-date Italian holiday after `today`."""
    candidates = [
        (date(today.year + years, month, day), name)
        for years in (0, 1)
        for month, day, name in ITALIAN_HOLIDAYS
    ]
    return min(c for c in candidates if c[0] > today)


async def seed_demo(password: str, *, today: date | None = None) -> SeedReport:
    """Fill an empty database with demo data; a no-op when any location exists."""
    today = today or datetime.now(UTC).date()
    report = SeedReport()
    async with in_transaction() as conn:
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_SEED_LOCK])
        if await Location.exists():
            return report
        amenities = await _amenities(report)
        users = await _users(password, report)
        for spec in LOCATIONS:
            location = await _location(spec, amenities, report)
            if spec.managed:
                await users["manager@example.com"].managed_locations.add(location)
            if spec.key == "milan-centrale":
                day, reason = next_holiday(today)
                await Closure.create(location=location, start_date=day, end_date=day, reason=reason)
                report.closures += 1
            if spec.key == "london-shoreditch":
                await _christmas(location, today)
                report.closures += 1
    report.created = True
    return report


async def _amenities(report: SeedReport) -> dict[str, Amenity]:
    found: dict[str, Amenity] = {}
    for code, name in AMENITIES.items():
        found[code], _ = await Amenity.get_or_create(code=code, defaults={"name": name})
    report.amenities = await Amenity.all().count()
    return found


async def _users(password: str, report: SeedReport) -> dict[str, User]:
    users: dict[str, User] = {}
    hashed: str | None = None  # the demo users share a password: one (slow) hash for all
    for email, name, role in USERS:
        user = await User.get_or_none(email=email)
        if user is None:  # an existing account keeps its password
            hashed = hashed or await hash_password(password)
            user = await User.create(email=email, name=name, role=role, password_hash=hashed)
            report.users += 1
            report.logins.append(Login(email, role, password))
        users[email] = user
    return users


async def _location(
    spec: LocationSpec, amenities: dict[str, Amenity], report: SeedReport
) -> Location:
    policy = (
        [{"hours_before": h, "percent": p} for h, p in spec.policy]
        if spec.policy
        else DEFAULT_POLICY.to_list()
    )
    location = await Location.create(
        name=spec.name,
        city=spec.city,
        address=spec.address,
        timezone=spec.timezone,
        currency=spec.currency,
        description=spec.description,
        opening_hours=WeeklyHours.from_dict(spec.opening_hours).to_dict(),
        cancellation_policy=policy,
        booking_rules={},
        floors=[
            {"level": level, "name": name, "width": PLAN_WIDTH, "height": PLAN_HEIGHT}
            for level, (name, _) in enumerate(spec.floors)
        ],
    )
    report.locations += 1
    for level, (_, kinds) in enumerate(spec.floors):
        numbers: dict[str, int] = {}
        for kind, x, y in layout(kinds):
            numbers[kind.prefix] = numbers.get(kind.prefix, 0) + 1
            space = await Space.create(
                location=location,
                name=f"{kind.prefix} {level}.{numbers[kind.prefix]}",
                type=kind.type,
                capacity=kind.capacity,
                hourly_price_cents=kind.hourly_cents,
                daily_price_cents=kind.daily_cents,
                floor=level,
                x=x,
                y=y,
                width=kind.width,
                height=kind.height,
            )
            await space.amenities.add(*(amenities[c] for c in kind.amenities))
            report.spaces += 1
    return location


async def _christmas(location: Location, today: date) -> None:
    year = today.year if today <= date(today.year, 12, 26) else today.year + 1
    await Closure.create(
        location=location,
        start_date=date(year, 12, 25),
        end_date=date(year, 12, 26),
        reason="Christmas and Boxing Day",
    )

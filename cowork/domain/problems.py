"""The catalogue of problem codes: every refusal the API can answer, with status and meaning.

A code is part of the API contract (clients branch on it): never rename one. Each member is
(HTTP status, title, one-line meaning); `code` is the member's name in lower case. Raise a
problem through its error class in `cowork.domain.errors` or with `Problem.X.error(...)`.
"""

from __future__ import annotations

from enum import Enum


class Problem(Enum):
    # -- reading the request -----------------------------------------------------------------
    BAD_REQUEST = (400, "Bad request", "The request could not be read.")
    EMPTY_BODY = (400, "Empty body", "The operation needs a JSON body and none was sent.")
    MALFORMED_JSON = (400, "Malformed JSON", "The body is not valid JSON.")
    INVALID_CURSOR = (400, "Invalid cursor", "The cursor was not issued by this server.")
    INVALID_IDEMPOTENCY_KEY = (
        400,
        "Invalid Idempotency-Key",
        "The Idempotency-Key header is empty, too long or not printable.",
    )
    INVALID_PARAMETER = (
        400,
        "Invalid parameter",
        "A path or body value is outside the range the server stores.",
    )
    INVALID_SIGNATURE = (400, "Invalid Stripe signature", "A webhook is not signed by Stripe.")
    UNSUPPORTED_MEDIA_TYPE = (415, "Unsupported media type", "Send the body as application/json.")
    VALIDATION_FAILED = (
        422,
        "Validation failed",
        "The body does not match the operation's schema; `errors` lists each field.",
    )
    INVALID_QUERY = (
        422,
        "Invalid query parameters",
        "A query parameter is missing, malformed or out of range; `errors` lists each.",
    )
    INVALID_INPUT = (422, "Invalid input", "A value breaks a rule the schema cannot express.")
    INVALID_WINDOW = (
        422,
        "Invalid time window",
        "`from` and `to` go together, `to` after `from`, within the span the operation allows.",
    )
    PAYLOAD_TOO_LARGE = (413, "Payload too large", "The body is larger than the server accepts.")
    HEADERS_TOO_LARGE = (
        431,
        "Request header fields too large",
        "The request line and headers (a long query string too) exceed 8 KiB.",
    )
    METHOD_NOT_ALLOWED = (405, "Method not allowed", "The resource does not answer this method.")
    REQUEST_TIMEOUT = (408, "Request timeout", "The request took too long to arrive.")
    RANGE_NOT_SATISFIABLE = (416, "Range not satisfiable", "The requested byte range is invalid.")
    HTTP_ERROR = (400, "HTTP error", "The request was refused by the HTTP layer.")
    # -- who is asking -----------------------------------------------------------------------
    UNAUTHORIZED = (401, "Authentication required", "Send a valid bearer access token.")
    TOKEN_EXPIRED = (401, "Token expired", "The token's lifetime is over; get a new one.")
    TOKEN_INVALID = (401, "Invalid token", "The token is malformed or not signed by us.")
    TOKEN_WRONG_KIND = (401, "Wrong kind of token", "An access, stream or kiosk token is swapped.")
    TOKEN_REVOKED = (
        401,
        "Token revoked",
        "The user logged out, changed password, or was demoted or deactivated since.",
    )
    INVALID_CREDENTIALS = (401, "Email or password is wrong", "Login refused.")
    REFRESH_TOKEN_INVALID = (401, "Refresh token invalid", "The refresh token is unknown.")
    REFRESH_TOKEN_EXPIRED = (401, "Refresh token expired", "Log in again.")
    REFRESH_TOKEN_REUSED = (
        401,
        "Refresh token reused",
        "A spent refresh token was presented again: every token of that login is revoked.",
    )
    FORBIDDEN = (403, "Forbidden", "The caller's role or locations do not allow this.")
    ACCOUNT_INACTIVE = (403, "This account is deactivated", "An admin deactivated the account.")
    CURRENT_PASSWORD_WRONG = (403, "The current password is wrong", "Password change refused.")
    TOO_MANY_ATTEMPTS = (
        429,
        "Too many attempts",
        "Too many failed attempts from this client; wait `Retry-After` seconds.",
    )
    TOO_MANY_REQUESTS = (429, "Too many requests", "Slow down; wait `Retry-After` seconds.")
    # -- things that are not there -----------------------------------------------------------
    NOT_FOUND = (404, "Not found", "No such resource.")
    LOCATION_NOT_FOUND = (404, "Location not found", "No such location (or not visible to you).")
    SPACE_NOT_FOUND = (404, "Space not found", "No such space (or not bookable).")
    BOOKING_NOT_FOUND = (404, "Booking not found", "No such booking of yours.")
    PAYMENT_NOT_FOUND = (404, "Payment not found", "No such payment.")
    CARD_DECLINED = (409, "Card declined", "localstripe refused the test card (dev and tests).")
    KIOSK_NOT_FOUND = (404, "Kiosk not found", "No such kiosk.")
    USER_NOT_FOUND = (404, "User not found", "No such user.")
    NOTIFICATION_NOT_FOUND = (404, "Notification not found", "No such notification of yours.")
    CALENDAR_FEED_NOT_FOUND = (
        404,
        "Calendar feed not found",
        "The feed's URL was rotated or revoked, or its owner lost access to what it shows.",
    )
    WEBHOOK_NOT_FOUND = (404, "Webhook endpoint not found", "No such endpoint of your locations.")
    WEBHOOK_DELIVERY_NOT_FOUND = (404, "Webhook delivery not found", "No such delivery here.")
    DEVICE_NOT_FOUND = (404, "Device not found", "No such push device of yours.")
    WEBPUSH_NOT_CONFIGURED = (404, "Web Push is not configured", "The server has no VAPID key.")
    # -- push devices and notification preferences (docs/push.md) ----------------------------
    PUSH_ENDPOINT_REFUSED = (
        422,
        "This push endpoint is not allowed",
        "Pushes go only to public https hosts (and the allow-list); `reason` says why not.",
    )
    INVALID_PUSH_SUBSCRIPTION = (
        422,
        "The push subscription keys are not valid",
        "`keys.p256dh` must be a P-256 public point and `keys.auth` 16 bytes, base64url.",
    )
    PUSH_CHANNEL_NOT_CONFIGURED = (
        422,
        "Push service not configured",
        "This server does not deliver through that push service.",
    )
    INVALID_NOTIFICATION_PREFERENCES = (
        422,
        "Notification preferences are invalid",
        "Quiet hours must start and end at different times, as local times (no offset).",
    )
    # -- booking rules -----------------------------------------------------------------------
    CONFLICT = (409, "Conflict", "The request conflicts with the resource's current state.")
    SLOT_TAKEN = (409, "The slot overlaps another booking", "Another live booking holds it.")
    INVALID_TRANSITION = (
        409,
        "The booking cannot make this transition",
        "The booking's state does not allow the action (e.g. cancel a completed booking).",
    )
    BOOKING_CHANGED = (409, "Booking changed meanwhile", "Another change won; read it and retry.")
    CHECK_IN_WINDOW_CLOSED = (
        409,
        "Check-in is not open for this booking now",
        "Check-in opens shortly before the start and closes at start + grace.",
    )
    PRESENCE_REQUIRED = (
        403,
        "Proof of presence required",
        "Checking in here needs the code the space's kiosk shows (or the booking's PIN, typed "
        "on the kiosk).",
    )
    NO_SHOW_TOO_EARLY = (409, "Too early for a no-show", "Only after start + check-in grace.")
    RESCHEDULE_COSTS_MORE = (
        409,
        "New slot costs more",
        "A paid booking can move only to a slot that costs no more than was paid.",
    )
    SPACE_INACTIVE = (409, "Space not bookable", "The space or its location is deactivated.")
    QUOTA_EXCEEDED = (
        409,
        "Booking limit reached",
        "A per-member limit of the location would be exceeded; `limit` names it "
        "(max_hours_per_week, max_concurrent_holds, max_bookings_ahead), `allowed` and `used` "
        "say by how much.",
    )
    # -- scheduling: series, waitlist -------------------------------------------------------
    INVALID_RECURRENCE = (
        422,
        "Invalid recurrence",
        "The RRULE is not one we book: FREQ=WEEKLY or DAILY, INTERVAL, BYDAY, and COUNT or "
        "UNTIL, within the occurrence limit.",
    )
    SERIES_NOT_BOOKED = (
        409,
        "No occurrence was booked",
        "all_or_nothing met an occurrence it could not book, or book_available found none; "
        "`occurrences` gives each one's outcome.",
    )
    SERIES_NOT_FOUND = (404, "Series not found", "No such series of yours.")
    SERIES_NOT_PAYABLE = (
        409,
        "Nothing of the series can be paid",
        "No occurrence of the series is held and waiting for payment, or one was paid on its "
        "own while the series' payment was being made.",
    )
    SLOT_AVAILABLE = (409, "The slot is free", "Nothing holds it: book it instead of waiting.")
    ALREADY_WAITING = (409, "Already waiting", "You already wait for this slot of this space.")
    WAITLIST_FULL = (
        409,
        "Too many waiting entries",
        "A member waits for at most a few slots per location at once; leave one first.",
    )
    WAITLIST_ENTRY_NOT_FOUND = (404, "Waitlist entry not found", "No such entry of yours.")
    OFFER_NOT_OPEN = (409, "No open offer", "The entry has no offer that can be accepted now.")
    OFFER_NEEDS_PAYMENT = (
        409,
        "Pay to accept",
        "The offered slot costs money: pay its held booking (`booking_id`) to accept.",
    )
    SLOT_IN_PAST = (422, "The slot starts in the past", "Holds start now or later.")
    SLOT_TOO_FAR_AHEAD = (
        422,
        "The slot starts too far in the future",
        "Beyond the location's booking horizon.",
    )
    SLOT_ORDER = (422, "The slot must end after it starts", "`end` must be after `start`.")
    SLOT_GRANULARITY = (
        422,
        "The slot does not start and end on the booking grid",
        "Start and end must fall on the location's grid (e.g. every 30 minutes).",
    )
    SLOT_TOO_SHORT = (422, "The slot is shorter than the minimum", "See the location's rules.")
    SLOT_TOO_LONG = (422, "The slot is longer than the maximum", "See the location's rules.")
    OUTSIDE_OPENING_HOURS = (
        422,
        "The slot is outside opening hours",
        "Every minute of a booking must fall within the location's local opening hours.",
    )
    LOCATION_CLOSED = (
        422,
        "The location is closed on a day the slot covers",
        "A closure covers part of the slot.",
    )
    INSTANT_OUT_OF_RANGE = (
        422,
        "Instant out of range",
        "Times must fall between 2000-01-01 and 2100-01-01 (UTC).",
    )
    NAIVE_DATETIME = (422, "Datetimes must carry a UTC offset", "Send ISO-8601 with an offset.")
    # -- catalogue management ----------------------------------------------------------------
    INVALID_OPENING_HOURS = (422, "Opening hours are invalid", "Intervals must be HH:MM, ordered.")
    INVALID_CANCELLATION_POLICY = (
        422,
        "Cancellation policy is invalid",
        "Tiers of hours_before → percent, percent falling as the start nears.",
    )
    INVALID_TIMEZONE = (422, "Unknown time zone", "Use an IANA name such as Europe/Rome.")
    INVALID_BOOKING_LIMITS = (422, "Booking limits are invalid", "Minimum above maximum, etc.")
    INVALID_CLOSURE = (422, "Closure must end on or after its start date", "Check the dates.")
    INVALID_PRICE = (422, "Prices must be non-negative integer cents", "Check the prices.")
    INVALID_MONEY = (422, "Money needs integer cents and a 3-letter currency code", "ISO 4217.")
    UNKNOWN_FLOOR = (422, "Unknown floor", "The location has no floor with this level.")
    OUTSIDE_FLOOR = (422, "Outside the floor plan", "The space does not fit its floor plan.")
    UNKNOWN_AMENITY = (422, "Unknown amenity", "No amenity has this code.")
    UNKNOWN_LOCATION = (422, "Unknown location", "A location id in the body names no location.")
    AMENITY_EXISTS = (409, "Amenity exists", "Another amenity has this code.")
    # -- integrations ------------------------------------------------------------------------
    WEBHOOK_URL_REFUSED = (
        422,
        "Webhook URL refused",
        "Only https to public addresses in production (no loopback, private or metadata "
        "addresses, no credentials in the URL); `reason` says which rule.",
    )
    UNKNOWN_WEBHOOK_EVENT = (
        422,
        "Unknown webhook event",
        "`unknown` lists the names that are not webhook event types (docs/webhooks.md).",
    )
    WEBHOOK_DISABLED = (
        409,
        "Webhook endpoint disabled",
        "Enable the endpoint (PATCH `enabled: true`) before replaying deliveries to it.",
    )
    INVALID_REPLAY_RANGE = (422, "Invalid replay range", "`since` must be before `until`.")
    # -- accounts ----------------------------------------------------------------------------
    EMAIL_TAKEN = (409, "An account with this email already exists", "Log in instead.")
    CURRENT_PASSWORD_REQUIRED = (
        422,
        "Changing the password requires current_password",
        "Send the current password with the new one.",
    )
    RESET_TOKEN_INVALID = (
        400,
        "Password reset link invalid",
        "The link is unknown or was already used; ask for a new one.",
    )
    RESET_TOKEN_EXPIRED = (
        400,
        "Password reset link expired",
        "The link is older than its lifetime; ask for a new one.",
    )
    SELF_LOCKOUT = (409, "Cannot demote or deactivate yourself", "Another admin must do it.")
    NOT_A_MANAGER = (422, "Only managers manage locations", "Set role to manager first.")
    # -- payments ----------------------------------------------------------------------------
    PAYMENT_MISMATCH = (
        409,
        "Payment does not match the price",
        "The amount or currency paid differs from the booking's price; it is refunded in full.",
    )
    BOOKING_NOT_PAYABLE = (409, "Only a held booking can be paid", "The booking is not held.")
    PAYMENT_NOT_REFUNDABLE = (409, "Only a paid payment can be refunded", "Nothing was paid.")
    REFUND_EXCEEDS_REMAINING = (
        409,
        "The refund is larger than what is left to refund",
        "`refundable_cents` says how much is left.",
    )
    INVALID_REFUND_AMOUNT = (422, "A refund amount is a positive number of cents", "At least 1.")
    REFUND_FAILED = (409, "The payment provider refused the refund", "Stripe said no.")
    PAYMENT_PROVIDER_REJECTED = (409, "The payment provider refused", "Stripe refused the call.")
    PAYMENTS_UNAVAILABLE = (
        503,
        "Payments unavailable",
        "Stripe cannot be reached; retry later.",
        5,
    )
    PAYMENTS_NOT_CONFIGURED = (503, "Payments not configured", "STRIPE_SECRET_KEY is not set.", 5)
    WEBHOOKS_NOT_CONFIGURED = (
        503,
        "Stripe webhooks are not configured",
        "STRIPE_WEBHOOK_SECRET is not set.",
    )
    # -- idempotency -------------------------------------------------------------------------
    IDEMPOTENCY_KEY_REUSED = (
        422,
        "Idempotency key reused",
        "The key was used with a different request.",
    )
    IDEMPOTENCY_KEY_IN_FLIGHT = (
        409,
        "Request in progress",
        "A request with this key is still being processed; retry after `Retry-After`.",
        1,
    )
    # -- availability of the node ------------------------------------------------------------
    SPACE_BUSY = (503, "Space busy", "Too many requests queued for this space; retry shortly.", 1)
    NODE_UNAVAILABLE = (503, "Temporarily unavailable", "The node is restarting or draining.", 1)
    NODE_DRAINING = (503, "Node draining", "This node is stopping; retry on another.", 0)
    DATABASE_UNAVAILABLE = (503, "Database unavailable", "PostgreSQL did not answer; retry.", 1)
    STREAMS_UNAVAILABLE = (503, "Streams unavailable", "NATS is not connected on this node.")
    PRESENCE_UNAVAILABLE = (503, "Presence unavailable", "NATS is not connected on this node.")
    SERVICE_UNAVAILABLE = (503, "Service unavailable", "Retry later.")
    INTERNAL_ERROR = (500, "Internal server error", "A bug: the request id is in our logs.")

    def __init__(
        self, status: int, title: str, meaning: str, retry_after: int | None = None
    ) -> None:
        self.status = status
        self.title = title
        self.meaning = meaning
        self.retry_after = retry_after  # seconds a client should wait before retrying

    @property
    def code(self) -> str:
        return self.name.lower()

    def error(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: object
    ) -> DomainError:
        """An exception carrying this problem (for refusals that need no class of their own)."""
        return DomainError(detail, problem=self, headers=headers, **extra)


def by_code(code: str) -> Problem:
    """The problem with this stable code."""
    return Problem[code.upper()]


class DomainError(Exception):
    """A refusal with a catalogued problem; the actor and the caller live on after it."""

    problem: Problem = Problem.INVALID_INPUT

    def __init__(
        self,
        detail: str | None = None,
        *,
        problem: Problem | None = None,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        if problem is not None:
            self.problem = problem
        super().__init__(detail or self.problem.title)
        self.detail = detail or self.problem.title
        self.headers = dict(headers or {})
        self.extra = extra

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def title(self) -> str:
        return self.problem.title

"""The Stripe gateway: the official SDK, async, one client per node; errors in our terms.

The same code talks to Stripe and to localstripe (dev, tests): only `stripe_api_base` differs.
Every write carries an idempotency key derived from our own ids, so a retry after a timeout
can never charge or refund twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe

from cowork.config import Settings
from cowork.domain.errors import ConflictError, DomainError
from cowork.domain.problems import Problem

log = logging.getLogger("cowork.payments.gateway")


class PaymentsUnavailableError(DomainError):
    """Stripe could not be reached (connection error, timeout, 5xx, rate limit)."""

    problem = Problem.PAYMENTS_UNAVAILABLE


class PaymentsNotConfiguredError(DomainError):
    problem = Problem.PAYMENTS_NOT_CONFIGURED


class PaymentRejectedError(ConflictError):
    """Stripe refused the request for a reason retrying cannot fix."""

    problem = Problem.PAYMENT_PROVIDER_REJECTED


TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    client_secret: str
    amount: int
    currency: str
    status: str


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    amount: int
    status: str


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._http = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=1,
        )

    async def close(self) -> None:
        await self._http.close_async()

    async def create_customer(self, *, user_id: int, email: str, name: str) -> str:
        customer = await self._call(
            self._client.v1.customers.create_async,
            {"email": email, "name": name, "metadata": {"user_id": str(user_id)}},
            key=f"customer-user-{user_id}",
        )
        return str(customer.id)

    async def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        metadata: dict[str, str],
        key: str,
    ) -> Intent:
        params = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer,
            "metadata": metadata,
            "payment_method_types": ["card"],
        }
        return _intent(
            await self._call(self._client.v1.payment_intents.create_async, params, key=key)
        )

    async def update_amount(self, intent_id: str, amount: int, *, key: str) -> Intent:
        """The held booking was rescheduled to another price before it was paid."""
        return _intent(
            await self._call(
                self._client.v1.payment_intents.update_async,
                {"amount": amount},
                key=key,
                target=intent_id,
            )
        )

    async def cancel_intent(self, intent_id: str, *, key: str) -> None:
        """An intent that must never be paid (its occurrences were paid another way)."""
        await self._call(
            self._client.v1.payment_intents.cancel_async, {}, key=key, target=intent_id
        )

    async def intent_status(self, intent_id: str) -> str:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(intent_id)
        except TRANSIENT as exc:
            raise PaymentsUnavailableError(_describe(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentRejectedError(_describe(exc)) from exc
        return str(intent.status)

    async def create_refund(
        self, *, payment_intent: str, amount: int, key: str, metadata: dict[str, str]
    ) -> StripeRefund:
        refund = await self._call(
            self._client.v1.refunds.create_async,
            {"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
            key=key,
        )
        return StripeRefund(str(refund.id), int(refund.amount), str(refund.status))

    async def find_refund(self, payment_intent: str, key: str) -> StripeRefund | None:
        """A refund made earlier under `key` (its metadata names it), for retries past the
        24 h Stripe keeps idempotency keys."""
        try:
            page = await self._client.v1.refunds.list_async(
                {"payment_intent": payment_intent, "limit": 100}
            )
        except TRANSIENT as exc:
            raise PaymentsUnavailableError(_describe(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentRejectedError(_describe(exc)) from exc
        for refund in page.data:
            # A StripeObject, not a dict: `.get` raises AttributeError on it.
            metadata: dict[str, Any] = refund.metadata.to_dict() if refund.metadata else {}
            if metadata.get("idempotency_key") == key:
                return StripeRefund(str(refund.id), int(refund.amount), str(refund.status))
        return None

    async def _call(
        self, method: Any, params: dict[str, Any], *, key: str, target: str | None = None
    ) -> Any:
        options = {"idempotency_key": key}
        try:
            if target is None:
                return await method(params, options)
            return await method(target, params, options)
        except TRANSIENT as exc:
            log.warning("stripe unreachable: %s", _describe(exc))
            raise PaymentsUnavailableError(
                "The payment provider cannot be reached; retry shortly."
            ) from exc
        except stripe.StripeError as exc:
            log.warning("stripe refused: %s", _describe(exc))
            raise PaymentRejectedError(_describe(exc)) from exc


def _intent(obj: Any) -> Intent:
    return Intent(
        str(obj.id), str(obj.client_secret), int(obj.amount), str(obj.currency), str(obj.status)
    )


def _describe(exc: stripe.StripeError) -> str:
    return f"{type(exc).__name__}: {exc.user_message or 'no message'}"

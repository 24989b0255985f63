"""The words of every push and e-mail, in English and Italian (`str.format` placeholders)."""

from __future__ import annotations

# Placeholders: {space} {location} {when} {time} {until} {amount} {minutes} {percent} {name}
# {booking} {link} {ttl}. A missing key in a locale falls back to English (tests check that
# both catalogues have the same keys and placeholders).
EN: dict[str, str] = {
    # pushes: "<event type>.title" / "<event type>.body"
    "booking.confirmed.title": "Booking confirmed",
    "booking.confirmed.body": "{space} at {location}, {when}.",
    "booking.rescheduled.title": "Booking moved",
    "booking.rescheduled.body": "{space} at {location} is now {when}.",
    "booking.expiring.title": "Your hold is about to expire",
    "booking.expiring.body": "{space}, {when}: pay by {until} to keep it.",
    "booking.expired.title": "Hold expired",
    "booking.expired.body": "{space}, {when}: the slot was released.",
    "booking.cancelled.title": "Booking cancelled",
    "booking.cancelled.body": "{space}, {when}.",
    "booking.cancelled.refund": "{space}, {when}. Refund: {amount}.",
    "booking.refunded.title": "Refund issued",
    "booking.refunded.body": "{amount} for {space}, {when}.",
    "booking.reminder.title": "Starts in {minutes} minutes",
    "booking.reminder.body": "{space} at {location}, {when}.",
    "booking.check_in_open.title": "Check-in is open",
    "booking.check_in_open.body": "{space}: check in by {until}.",
    "booking.no_show_warning.title": "Check in now to keep your slot",
    "booking.no_show_warning.body": "{space}: the slot is released at {until}.",
    "booking.no_show.title": "Marked as no-show",
    "booking.no_show.body": "{space}, {when}: the slot was released.",
    "waitlist.offer.title": "A slot opened up",
    "waitlist.offer.body": "{space}, {when}: book it by {until}.",
    "booking.approved.title": "Booking request approved",
    "booking.approved.body": "{space} at {location}, {when}. See it in My bookings.",
    "booking.declined.title": "Booking request declined",
    "booking.declined.body": "{space} at {location}, {when}.",
    # e-mails
    "mail.greeting": "Hi {name},",
    "mail.signature": "The cowork team",
    "mail.footer": "You get this e-mail because of a booking on cowork. "
    "Choose which e-mails you get in your notification settings.",
    "mail.label.space": "Space",
    "mail.label.location": "Location",
    "mail.label.address": "Address",
    "mail.label.when": "When",
    "mail.label.booking": "Booking",
    "mail.label.price": "Price",
    "mail.label.paid": "Amount paid",
    "mail.label.refund": "Refund",
    "mail.label.date": "Date",
    "mail.action.booking": "See your booking",
    "mail.confirmation.subject": "Booking confirmed: {space}, {when}",
    "mail.confirmation.intro": "your booking is confirmed. The calendar invitation is attached.",
    "mail.receipt.subject": "Receipt for booking #{booking}",
    "mail.receipt.intro": "thank you for your payment. This is your receipt.",
    "mail.cancellation.subject": "Booking cancelled: {space}, {when}",
    "mail.cancellation.intro": "your booking has been cancelled.",
    "mail.cancellation.refund": "A refund of {amount} ({percent}%) is on its way to your card.",
    "mail.cancellation.no_refund": "Under the location's cancellation policy no refund applies.",
    "mail.refund.subject": "Refund of {amount} issued",
    "mail.refund.intro": "we have issued a refund of {amount} for your booking. "
    "It reaches your card in a few days.",
    "mail.hold_expiring.subject": "Complete your booking: the hold expires at {until}",
    "mail.hold_expiring.intro": "we are holding {space} for you until {until}. "
    "Pay before then to keep the slot.",
    "mail.action.pay": "Complete the payment",
    "mail.password_reset.subject": "Reset your cowork password",
    "mail.password_reset.intro": "someone (we hope you) asked to reset the password of this "
    "account. The link works once, for {ttl} minutes.",
    "mail.password_reset.ignore": "If you did not ask, ignore this e-mail: "
    "your password stays as it is.",
    "mail.action.reset": "Choose a new password",
}

IT: dict[str, str] = {
    "booking.confirmed.title": "Prenotazione confermata",
    "booking.confirmed.body": "{space} presso {location}, {when}.",
    "booking.rescheduled.title": "Prenotazione spostata",
    "booking.rescheduled.body": "{space} presso {location} ora è {when}.",
    "booking.expiring.title": "La tua prenotazione sta per scadere",
    "booking.expiring.body": "{space}, {when}: paga entro le {until} per mantenerla.",
    "booking.expired.title": "Prenotazione scaduta",
    "booking.expired.body": "{space}, {when}: lo slot è stato liberato.",
    "booking.cancelled.title": "Prenotazione annullata",
    "booking.cancelled.body": "{space}, {when}.",
    "booking.cancelled.refund": "{space}, {when}. Rimborso: {amount}.",
    "booking.refunded.title": "Rimborso emesso",
    "booking.refunded.body": "{amount} per {space}, {when}.",
    "booking.reminder.title": "Inizia tra {minutes} minuti",
    "booking.reminder.body": "{space} presso {location}, {when}.",
    "booking.check_in_open.title": "Il check-in è aperto",
    "booking.check_in_open.body": "{space}: fai il check-in entro le {until}.",
    "booking.no_show_warning.title": "Fai il check-in per non perdere lo slot",
    "booking.no_show_warning.body": "{space}: lo slot viene liberato alle {until}.",
    "booking.no_show.title": "Segnato come assente",
    "booking.no_show.body": "{space}, {when}: lo slot è stato liberato.",
    "waitlist.offer.title": "Si è liberato uno slot",
    "waitlist.offer.body": "{space}, {when}: prenotalo entro le {until}.",
    "booking.approved.title": "Richiesta di prenotazione approvata",
    "booking.approved.body": "{space} presso {location}, {when}. Vedila in Le mie prenotazioni.",
    "booking.declined.title": "Richiesta di prenotazione rifiutata",
    "booking.declined.body": "{space} presso {location}, {when}.",
    "mail.greeting": "Ciao {name},",
    "mail.signature": "Il team di cowork",
    "mail.footer": "Ricevi questa e-mail per una prenotazione su cowork. "
    "Scegli quali e-mail ricevere nelle impostazioni delle notifiche.",
    "mail.label.space": "Spazio",
    "mail.label.location": "Sede",
    "mail.label.address": "Indirizzo",
    "mail.label.when": "Quando",
    "mail.label.booking": "Prenotazione",
    "mail.label.price": "Prezzo",
    "mail.label.paid": "Importo pagato",
    "mail.label.refund": "Rimborso",
    "mail.label.date": "Data",
    "mail.action.booking": "Vedi la prenotazione",
    "mail.confirmation.subject": "Prenotazione confermata: {space}, {when}",
    "mail.confirmation.intro": "la tua prenotazione è confermata. In allegato trovi l'invito "
    "per il calendario.",
    "mail.receipt.subject": "Ricevuta della prenotazione n. {booking}",
    "mail.receipt.intro": "grazie per il pagamento. Questa è la tua ricevuta.",
    "mail.cancellation.subject": "Prenotazione annullata: {space}, {when}",
    "mail.cancellation.intro": "la tua prenotazione è stata annullata.",
    "mail.cancellation.refund": "Un rimborso di {amount} ({percent}%) è in arrivo sulla tua carta.",
    "mail.cancellation.no_refund": "Secondo la politica di cancellazione della sede non è "
    "previsto alcun rimborso.",
    "mail.refund.subject": "Rimborso di {amount} emesso",
    "mail.refund.intro": "abbiamo emesso un rimborso di {amount} per la tua prenotazione. "
    "Arriverà sulla tua carta entro pochi giorni.",
    "mail.hold_expiring.subject": "Completa la prenotazione: scade alle {until}",
    "mail.hold_expiring.intro": "teniamo {space} per te fino alle {until}. "
    "Paga entro quell'ora per mantenere lo slot.",
    "mail.action.pay": "Completa il pagamento",
    "mail.password_reset.subject": "Reimposta la password di cowork",
    "mail.password_reset.intro": "qualcuno (speriamo tu) ha chiesto di reimpostare la password "
    "di questo account. Il link funziona una sola volta, per {ttl} minuti.",
    "mail.password_reset.ignore": "Se non l'hai chiesto tu, ignora questa e-mail: "
    "la password resta invariata.",
    "mail.action.reset": "Scegli una nuova password",
}

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "it": IT}


def text(locale: str, key: str, **values: object) -> str:
    """The text `key` in `locale` (English when missing), with its placeholders filled."""
    template = CATALOGUES.get(locale, EN).get(key) or EN[key]
    return template.format(**values)

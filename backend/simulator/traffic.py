"""Scripted customers: they write, reply, react and send media, in several languages."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers

if TYPE_CHECKING:
    from .simulator import Simulator
    from .state import Customer

DEFAULT_LANGUAGES = ("en", "es", "pt", "de", "fr")


@dataclass(frozen=True)
class Locale:
    country: str
    names: tuple[str, ...]
    openers: tuple[str, ...]
    replies: tuple[str, ...]
    captions: tuple[str, ...]


LOCALES: dict[str, Locale] = {
    "en": Locale(
        "US",
        ("John Smith", "Emily Clark", "Michael Brown", "Sarah Lee"),
        (
            "Hi, my order hasn't arrived yet",
            "Hello! Can I change my delivery address?",
            "I was charged twice for order A1234",
            "Do you ship to Canada?",
            "My password reset link doesn't work",
        ),
        ("Thanks!", "OK, I'll wait", "That didn't help, sorry", "Perfect 👍", "When exactly?"),
        ("Here is the receipt", "The box arrived like this", "Screenshot of the error"),
    ),
    "es": Locale(
        "ES",
        ("María López", "Javier Núñez", "Lucía Fernández", "Andrés Peña"),
        (
            "Hola, mi pedido no ha llegado todavía",
            "¿Puedo cambiar la dirección de envío?",
            "Me cobraron dos veces el pedido A1234",
            "¿Tienen tienda física en Sevilla?",
        ),
        (
            "¡Gracias!",
            "Vale, espero",
            "No me sirve, lo siento",
            "Perfecto 👍",
            "¿Cuándo exactamente?",
        ),
        ("Aquí está el recibo", "La caja llegó así", "Captura del error"),
    ),
    "pt": Locale(
        "BR",
        ("João Silva", "Ana Conceição", "Luís Gonçalves", "Beatriz Araújo"),
        (
            "Olá, meu pedido ainda não chegou",
            "Posso trocar o endereço de entrega?",
            "Fui cobrado duas vezes no pedido A1234",
            "Vocês entregam em São Paulo?",
        ),
        (
            "Obrigado!",
            "Ok, vou esperar",
            "Não ajudou, desculpe",
            "Perfeito 👍",
            "Quando exatamente?",
        ),
        ("Aqui está o recibo", "A caixa chegou assim", "Print do erro"),
    ),
    "de": Locale(
        "DE",
        ("Jürgen Müller", "Anna Schäfer", "Lukas Groß", "Sophie Weiß"),
        (
            "Hallo, meine Bestellung ist noch nicht angekommen",
            "Kann ich die Lieferadresse ändern?",
            "Mir wurde die Bestellung A1234 doppelt berechnet",
            "Liefern Sie auch nach Österreich?",
        ),
        ("Danke!", "Okay, ich warte", "Das hilft mir nicht", "Perfekt 👍", "Wann genau?"),
        ("Hier ist die Quittung", "So kam der Karton an", "Screenshot vom Fehler"),
    ),
    "fr": Locale(
        "FR",
        ("Camille Dubois", "Léa Lefèvre", "Théo Moreau", "Zoé Bérénger"),
        (
            "Bonjour, ma commande n'est pas encore arrivée",
            "Puis-je changer l'adresse de livraison ?",
            "J'ai été débité deux fois pour la commande A1234",
            "Livrez-vous en Belgique ?",
        ),
        ("Merci !", "D'accord, j'attends", "Ça ne m'aide pas", "Parfait 👍", "Quand exactement ?"),
        ("Voici le reçu", "Le colis est arrivé comme ça", "Capture de l'erreur"),
    ),
    "ar": Locale(
        "EG",
        ("أحمد حسن", "فاطمة علي"),
        ("مرحبا، طلبي لم يصل بعد", "هل يمكنني تغيير عنوان التوصيل؟"),
        ("شكرا!", "حسنا، سأنتظر"),
        ("هذا هو الإيصال",),
    ),
    "hi": Locale(
        "IN",
        ("राहुल शर्मा", "प्रिया वर्मा"),
        ("नमस्ते, मेरा ऑर्डर अभी तक नहीं आया", "क्या मैं डिलीवरी का पता बदल सकता हूँ?"),
        ("धन्यवाद!", "ठीक है, मैं इंतज़ार करूँगा"),
        ("यह रसीद है",),
    ),
}


def mobile_number(country: str, draw: random.Random) -> str:
    """A valid mobile number of ``country`` as WhatsApp writes it (digits, no "+"): the
    phone library's example mobile number with its last digits drawn (random digits after
    a calling code were often no number at all: a US one of nine digits)."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None, country
    national = str(example.national_number)
    kept = national[: max(3, len(national) - 7)]
    for _ in range(50):
        drawn = "".join(str(draw.randrange(10)) for _ in range(len(national) - len(kept)))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(kept + drawn)
        )
        if phonenumbers.is_valid_number(number):
            return f"{example.country_code}{number.national_number}"
    return f"{example.country_code}{national}"


@dataclass
class ScriptedCustomer:
    key: str
    language: str
    wrote: int = 0


class TrafficScript:
    """Chooses what the next scripted customer sends."""

    def __init__(
        self, sim: Simulator, languages: Sequence[str], customer_count: int, seed: int
    ) -> None:
        unknown = [lang for lang in languages if lang not in LOCALES]
        if unknown or not languages:
            raise ValueError(f"unknown languages {unknown}; choose from {sorted(LOCALES)}")
        self.sim = sim
        self.random = random.Random(seed)
        self.customers = [self._make_customer(i, languages) for i in range(customer_count)]

    def _make_customer(self, index: int, languages: Sequence[str]) -> ScriptedCustomer:
        language = languages[index % len(languages)]
        locale = LOCALES[language]
        username_only = self.random.random() < 0.1
        wa_id = None
        if not username_only:
            wa_id = mobile_number(locale.country, self.random)
        name = self.random.choice(locale.names)
        fields: dict[str, Any] = {
            "name": name,
            "country": locale.country,
            "read_receipts": self.random.random() < 0.85,
            "username": f"@{name.split()[0].lower()}{index}" if username_only else None,
        }
        if wa_id:
            fields["wa_id"] = wa_id
        customer = self.sim.state.upsert_customer(fields)
        return ScriptedCustomer(key=customer.user_id, language=language)

    def next_message(self) -> tuple[str, dict[str, Any]]:
        scripted = self.random.choice(self.customers)
        locale = LOCALES[scripted.language]
        customer = self.sim.state.customers.get(scripted.key)
        last_business_message = self._last_sent_to(customer) if customer else None
        roll = self.random.random()
        scripted.wrote += 1
        if scripted.wrote == 1:
            spec: dict[str, Any] = {"type": "text", "text": self.random.choice(locale.openers)}
        elif last_business_message and roll < 0.3:
            spec = {
                "type": "text",
                "text": self.random.choice(locale.replies),
                "context": {"reply_to": last_business_message},
            }
        elif last_business_message and roll < 0.4:
            emoji = self.random.choice(["👍", "❤️", "🙏", "😂"])
            spec = {"type": "reaction", "message_id": last_business_message, "emoji": emoji}
        elif roll < 0.5:
            spec = {"type": "image", "caption": self.random.choice(locale.captions)}
        elif roll < 0.53:
            spec = {"type": "audio", "voice": True}
        elif roll < 0.55:
            spec = {"type": "document", "filename": "invoice.pdf", "caption": "invoice"}
        elif roll < 0.57:
            spec = {"type": "unsupported", "unsupported_type": "poll_creation"}
        elif roll < 0.59:
            spec = {"type": "location", "name": "Home", "address": "Main St 1"}
        else:
            spec = {"type": "text", "text": self.random.choice(locale.replies + locale.openers)}
        return scripted.key, spec

    def _last_sent_to(self, customer: Customer) -> str | None:
        wamid = self.sim.state.last_sent_to.get(customer.user_id)
        return wamid if wamid in self.sim.state.sent else None


async def run_traffic(
    sim: Simulator,
    rate: float,
    duration: float | None = None,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    *,
    poisson: bool = True,
    customer_count: int = 50,
    stop: asyncio.Event | None = None,
) -> int:
    """Send scripted customer messages at `rate` per second (Poisson arrivals or steady)
    until `duration` passes, `stop` is set, or the task is cancelled. Returns the count."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    script = TrafficScript(sim, languages, customer_count, seed=sim.config.seed + 3)
    timing = random.Random(sim.config.seed + 4)
    started = time.monotonic()
    deadline = started + duration if duration is not None else None
    next_at = started
    sent = 0
    sim.traffic_stats = {
        "rate": rate,
        "duration": duration,
        "messages": 0,
        "started_at": time.time(),
    }
    try:
        while True:
            next_at += timing.expovariate(rate) if poisson else 1.0 / rate
            if deadline is not None and next_at > deadline:
                delay = deadline - time.monotonic()
                if delay > 0:
                    await _sleep_or_stop(delay, stop)
                break
            if await _sleep_or_stop(max(0.0, next_at - time.monotonic()), stop):
                break
            key, spec = script.next_message()
            sim.customer_send(key, spec)
            sent += 1
            sim.traffic_stats["messages"] = sent
    finally:
        sim.traffic_stats["messages"] = sent
        sim.traffic_stats["elapsed"] = round(time.monotonic() - started, 3)
    return sent


async def _sleep_or_stop(delay: float, stop: asyncio.Event | None) -> bool:
    """Sleep; True when `stop` was set meanwhile."""
    if stop is None:
        await asyncio.sleep(delay)
        return False
    try:
        async with asyncio.timeout(delay):  # not wait_for, which can swallow a cancel
            await stop.wait()
    except TimeoutError:
        return False
    return True


async def start_traffic(
    sim: Simulator,
    *,
    rate: float,
    duration: float | None,
    languages: Sequence[str],
    poisson: bool,
    customer_count: int,
) -> None:
    """Run traffic in the background (replacing any run in progress)."""
    await sim.stop_traffic()
    unknown = [lang for lang in languages if lang not in LOCALES]
    if unknown:
        raise ValueError(f"unknown languages {unknown}; choose from {sorted(LOCALES)}")
    sim.traffic_task = asyncio.create_task(
        run_traffic(
            sim,
            rate,
            duration,
            languages,
            poisson=poisson,
            customer_count=customer_count,
        ),
        name="sim-traffic",
    )
    await asyncio.sleep(0)

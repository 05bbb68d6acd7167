"""Text for benchmark data: help-desk chat in several languages, names and numbers.

Sentences are made from per-language templates with slots (product, order number, city,
day) plus a long tail of vocabulary, so the full-text index sees common terms (tens of
thousands of hits), rare ones, and many unique tokens (order numbers), as a real inbox.
"""

from __future__ import annotations

import random

LANGS = ("en", "es", "pt", "de", "fr", "it", "ru")
LANG_WEIGHTS = (30, 25, 12, 10, 10, 8, 5)

COUNTRY = {
    "en": ("GB", "44", "7"),
    "es": ("ES", "34", "6"),
    "pt": ("PT", "351", "9"),
    "de": ("DE", "49", "15"),
    "fr": ("FR", "33", "6"),
    "it": ("IT", "39", "3"),
    "ru": ("RU", "7", "9"),
}

FIRST = {
    "en": "Oliver Amelia Harry Isla Jack Ava George Mia Noah Grace Leo Sophie James Emily".split(),
    "es": "María José Lucía Javier Carmen Pablo Laura Alejandro Sofía Daniel Marta Sergio".split(),
    "pt": "João Ana Pedro Beatriz Tiago Inês Rui Mariana Diogo Catarina Gonçalo Leonor".split(),
    "de": "Lukas Anna Jonas Lea Felix Hannah Paul Lena Maximilian Sophie Jürgen Katrin".split(),
    "fr": "Louis Emma Hugo Léa Gabriel Chloé Arthur Manon Jules Camille Théo Inès".split(),
    "it": "Francesco Giulia Alessandro Sofia Lorenzo Aurora Matteo Ginevra Andrea Chiara".split(),
    "ru": "Иван Анна Дмитрий Мария Алексей Ольга Сергей Екатерина Никита Татьяна".split(),
}
LAST = {
    "en": "Smith Jones Taylor Brown Williams Wilson Evans Thomas Roberts Walker Wright".split(),
    "es": "García López Martínez Sánchez Pérez Gómez Fernández Ruiz Díaz Moreno Muñoz".split(),
    "pt": "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Sousa Gomes".split(),
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann".split(),
    "fr": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Lefèvre".split(),
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno".split(),
    "ru": "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков".split(),
}
CITIES = (
    "London Madrid Barcelona Lisboa Porto Berlin München Paris Lyon Milano Roma Torino "
    "Valencia Sevilla Hamburg Köln Marseille Napoli Bilbao Москва"
).split()
PRODUCTS = (
    "router headphones kettle blender laptop charger backpack sneakers jacket watch "
    "camera tablet speaker vacuum mattress lamp chair monitor keyboard printer"
).split()

CUSTOMER = {
    "en": [
        "Hi, where is my order {order}? It was supposed to arrive {day}.",
        "My {product} stopped working after two days, can I get a refund?",
        "Hello! I need to change the delivery address to {city}.",
        "The tracking number for {order} does not work",
        "Can you send me the invoice for order {order} please",
        "thanks!",
        "ok",
        "Is the {product} available in black? I want to buy two.",
        "I was charged twice for {order}, please help",
        "The courier left the parcel at the wrong door in {city}",
        "How do I return the {product}? The box is damaged.",
        "Still waiting for an answer about my refund...",
        "Do you ship to {city}? How long does delivery take?",
        "my discount code is not working at checkout",
    ],
    "es": [
        "Hola, ¿dónde está mi pedido {order}? Tenía que llegar {day}.",
        "El {product} dejó de funcionar, quiero una devolución",
        "Necesito cambiar la dirección de entrega a {city}",
        "gracias",
        "vale, perfecto",
        "Me han cobrado dos veces el pedido {order}",
        "¿Tenéis el {product} en color azul?",
        "El repartidor no ha venido, sigo esperando el paquete",
        "¿Cómo puedo devolver el {product}? La caja llegó rota.",
        "Buenas tardes, quería saber el estado de mi reembolso",
        "No me funciona el código de descuento",
        "¿Hacéis envíos a {city}?",
    ],
    "pt": [
        "Olá, onde está a minha encomenda {order}?",
        "O {product} avariou, quero devolver",
        "obrigado!",
        "Preciso de mudar a morada de entrega para {city}",
        "Fui cobrado duas vezes pela encomenda {order}",
        "Quando chega o reembolso? Já passaram duas semanas.",
        "Têm o {product} em stock?",
        "A fatura da encomenda {order} está errada",
    ],
    "de": [
        "Hallo, wo ist meine Bestellung {order}? Sie sollte {day} ankommen.",
        "Der {product} funktioniert nicht mehr, ich möchte eine Rückerstattung",
        "danke schön",
        "Ich muss die Lieferadresse nach {city} ändern",
        "Mir wurde die Bestellung {order} doppelt berechnet",
        "Wie kann ich den {product} zurücksenden? Die Verpackung ist beschädigt.",
        "Die Sendungsverfolgung für {order} funktioniert nicht",
        "Gibt es den {product} auch in Schwarz?",
    ],
    "fr": [
        "Bonjour, où est ma commande {order} ? Elle devait arriver {day}.",
        "Mon {product} ne marche plus, je voudrais un remboursement",
        "merci beaucoup",
        "Je dois changer l'adresse de livraison pour {city}",
        "J'ai été débité deux fois pour la commande {order}",
        "Comment retourner le {product} ? Le colis est abîmé.",
        "Le numéro de suivi de {order} ne fonctionne pas",
        "Vous livrez à {city} ?",
    ],
    "it": [
        "Ciao, dov'è il mio ordine {order}? Doveva arrivare {day}.",
        "Il {product} non funziona più, vorrei un rimborso",
        "grazie mille",
        "Devo cambiare l'indirizzo di consegna a {city}",
        "Mi avete addebitato due volte l'ordine {order}",
        "Come posso restituire il {product}? La scatola è rovinata.",
        "Il codice sconto non funziona",
    ],
    "ru": [
        "Здравствуйте, где мой заказ {order}? Он должен был прийти {day}.",
        "{product} сломался, хочу вернуть деньги",
        "спасибо",
        "Нужно изменить адрес доставки на {city}",
        "С меня дважды списали деньги за заказ {order}",
        "Как вернуть товар? Коробка повреждена.",
    ],
}
AGENT = {
    "en": [
        "Hi {name}, thanks for reaching out! Let me check order {order} for you.",
        "I'm sorry about that. I've started a refund, you will see it in 3-5 working days.",
        "Your parcel is with the courier and should arrive {day}.",
        "Could you send me a photo of the {product} and the box?",
        "Done! The new delivery address is {city}.",
        "You're welcome, have a great day!",
        "I have sent the invoice to your email.",
    ],
    "es": [
        "Hola {name}, gracias por escribirnos. Reviso el pedido {order} ahora mismo.",
        "Lo siento mucho. He iniciado el reembolso, lo verás en 3-5 días hábiles.",
        "Tu paquete está en reparto y llegará {day}.",
        "¿Puedes enviarme una foto del {product} y de la caja?",
        "Hecho, la nueva dirección de entrega es {city}.",
        "¡De nada! Que tengas un buen día.",
    ],
    "pt": [
        "Olá {name}, obrigado pelo contacto. Vou verificar a encomenda {order}.",
        "Lamento o incómodo. O reembolso foi iniciado.",
        "A sua encomenda chega {day}.",
        "Pode enviar uma foto do {product}?",
    ],
    "de": [
        "Hallo {name}, danke für Ihre Nachricht! Ich prüfe die Bestellung {order}.",
        "Das tut mir leid. Die Rückerstattung ist veranlasst.",
        "Ihr Paket ist unterwegs und kommt {day} an.",
        "Könnten Sie mir ein Foto vom {product} schicken?",
    ],
    "fr": [
        "Bonjour {name}, merci pour votre message ! Je vérifie la commande {order}.",
        "Désolé pour ce problème. Le remboursement est lancé.",
        "Votre colis arrive {day}.",
        "Pouvez-vous m'envoyer une photo du {product} ?",
    ],
    "it": [
        "Ciao {name}, grazie per averci scritto! Controllo subito l'ordine {order}.",
        "Mi dispiace. Ho avviato il rimborso.",
        "Il pacco arriverà {day}.",
    ],
    "ru": [
        "Здравствуйте, {name}! Спасибо за обращение, проверяю заказ {order}.",
        "Извините за неудобства. Возврат оформлен.",
        "Посылка придёт {day}.",
    ],
}
DAYS = {
    "en": "today tomorrow yesterday Monday Tuesday Friday".split(),
    "es": "hoy mañana ayer lunes martes viernes".split(),
    "pt": "hoje amanhã ontem segunda terça sexta".split(),
    "de": "heute morgen gestern Montag Dienstag Freitag".split(),
    "fr": "aujourd'hui demain hier lundi mardi vendredi".split(),
    "it": "oggi domani ieri lunedì martedì venerdì".split(),
    "ru": "сегодня завтра вчера понедельник вторник пятницу".split(),
}
# a long tail: extra words appended to some messages
TAIL = {
    "en": (
        "also please urgent asap again really broken missing wrong late support email phone "
        "website app account password login payment card paypal voucher gift colour size "
        "warranty receipt delivery parcel box screen battery cable button noise smell"
    ).split(),
    "es": (
        "también por favor urgente otra vez roto falta equivocado tarde correo teléfono web "
        "cuenta contraseña pago tarjeta bizum talla garantía ticket pantalla batería cable"
    ).split(),
    "pt": "também urgente partido falta errado atrasado conta pagamento cartão garantia".split(),
    "de": "bitte dringend kaputt fehlt falsch spät Konto Zahlung Karte Garantie Akku".split(),
    "fr": "aussi urgent cassé manquant mauvais retard compte paiement carte garantie".split(),
    "it": "anche urgente rotto mancante sbagliato ritardo conto pagamento carta garanzia".split(),
    "ru": "срочно сломан нет неправильно поздно аккаунт оплата карта гарантия".split(),
}
EMOJI = ["", "", "", "", " 🙏", " 😊", " 😡", " 👍", " 📦"]


def pick_lang(rng: random.Random) -> str:
    return rng.choices(LANGS, LANG_WEIGHTS)[0]


def person(rng: random.Random, lang: str) -> tuple[str, str]:
    return rng.choice(FIRST[lang]), rng.choice(LAST[lang])


def phone(rng: random.Random, lang: str, serial: int) -> str:
    """A unique-looking E.164 number for the language's country."""
    _, cc, lead = COUNTRY[lang]
    digits = 9 if cc != "7" else 10
    rest = digits - len(lead)
    return f"+{cc}{lead}{(serial * 7919 + rng.randrange(10**3)) % 10**rest:0{rest}d}"


def order_number(rng: random.Random) -> str:
    return f"{rng.choice('ABCDEFGHKLMNPRSTWXZ')}{rng.randrange(10**5, 10**6)}"


def message_text(rng: random.Random, lang: str, inbound: bool, name: str = "") -> str:
    templates = CUSTOMER[lang] if inbound else AGENT[lang]
    text = rng.choice(templates).format(
        order=order_number(rng),
        product=rng.choice(PRODUCTS),
        city=rng.choice(CITIES),
        day=rng.choice(DAYS[lang]),
        name=name,
    )
    roll = rng.random()
    if roll < 0.25:
        tail = TAIL[lang]
        text += " " + " ".join(rng.choice(tail) for _ in range(rng.randrange(2, 12)))
    elif roll < 0.30:
        # a long message: a few sentences
        text += " " + " ".join(
            rng.choice(templates).format(
                order=order_number(rng),
                product=rng.choice(PRODUCTS),
                city=rng.choice(CITIES),
                day=rng.choice(DAYS[lang]),
                name=name,
            )
            for _ in range(rng.randrange(2, 6))
        )
    if inbound:
        text += rng.choice(EMOJI)
    return text


# queries a person types into the search box, with the hit profile they exercise
SEARCH_QUERIES = [
    "refund",  # common (en)
    "order",  # very common prefix (order, ordine)
    "pedido",  # common (es)
    "reembolso",
    "Bestellung",
    "commande",
    "rimborso",
    "заказ",
    "router",  # a product: medium
    "invoice",
    "courier parcel",  # two words
    "delivery address",
    "garantía",  # diacritics folded: matches garantia too
    "Lisboa",
    "headphones refund",
    "warr",  # prefix typed half-way
    "tracking number",
    "dirección de entrega",
    "password login",
    "Müller",  # a contact name
    "A123",  # an order-number prefix: rare
    "battery",
    "charged twice",
    "zzzzqx",  # no hits at all
]

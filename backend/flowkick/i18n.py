"""Words and relative dates for the embed, in the five languages Flowkick speaks.

The fragment is read by the visitors of a business's site, so its few words (labels,
"3 days ago", "418 reviews") follow the visitor's language: `lang` when the embed asks
for one, else the best match in the request's Accept-Language, else English.
"Now" is always passed in, so a test can pin the clock and a cached fragment says what
the app's clock said when it was rendered.
"""

from __future__ import annotations

from datetime import UTC, datetime

LANGS: tuple[str, ...] = ("en", "es", "de", "fr", "pt")
DEFAULT_LANG = "en"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "view_profile": "View on {platform}",
        "followers": "{count} followers",
        "reviews": "{count} reviews",
        "stars": "{rating} out of 5 stars",
        "owner_reply": "Response from the owner",
        "play": "Play video",
        "post_on": "Post on {platform}",
        "previous": "Previous",
        "next": "Next",
        "loading": "Loading posts…",
        "empty": "Nothing to show yet.",
        "unavailable": "This feed is unavailable right now.",
        "likes": "{count} likes",
        "comments": "{count} comments",
        "views": "{count} views",
        "feed": "Social feed",
        "close": "Close",
        "load_more": "Load more",
        "read_more": "Read more",
    },
    "es": {
        "view_profile": "Ver en {platform}",
        "followers": "{count} seguidores",
        "reviews": "{count} reseñas",
        "stars": "{rating} de 5 estrellas",
        "owner_reply": "Respuesta del propietario",
        "play": "Reproducir vídeo",
        "post_on": "Publicación en {platform}",
        "previous": "Anterior",
        "next": "Siguiente",
        "loading": "Cargando publicaciones…",
        "empty": "Todavía no hay nada que mostrar.",
        "unavailable": "Este feed no está disponible en este momento.",
        "likes": "{count} me gusta",
        "comments": "{count} comentarios",
        "views": "{count} visualizaciones",
        "feed": "Feed social",
        "close": "Cerrar",
        "load_more": "Cargar más",
        "read_more": "Leer más",
    },
    "de": {
        "view_profile": "Auf {platform} ansehen",
        "followers": "{count} Follower",
        "reviews": "{count} Rezensionen",
        "stars": "{rating} von 5 Sternen",
        "owner_reply": "Antwort des Inhabers",
        "play": "Video abspielen",
        "post_on": "Beitrag auf {platform}",
        "previous": "Zurück",
        "next": "Weiter",
        "loading": "Beiträge werden geladen…",
        "empty": "Noch nichts zu zeigen.",
        "unavailable": "Dieser Feed ist gerade nicht verfügbar.",
        "likes": "{count} Likes",
        "comments": "{count} Kommentare",
        "views": "{count} Aufrufe",
        "feed": "Social-Media-Feed",
        "close": "Schließen",
        "load_more": "Mehr laden",
        "read_more": "Weiterlesen",
    },
    "fr": {
        "view_profile": "Voir sur {platform}",
        "followers": "{count} abonnés",
        "reviews": "{count} avis",
        "stars": "{rating} sur 5 étoiles",
        "owner_reply": "Réponse du propriétaire",
        "play": "Lire la vidéo",
        "post_on": "Publication sur {platform}",
        "previous": "Précédent",
        "next": "Suivant",
        "loading": "Chargement des publications…",
        "empty": "Rien à afficher pour le moment.",
        "unavailable": "Ce fil est indisponible pour le moment.",
        "likes": "{count} j’aime",
        "comments": "{count} commentaires",
        "views": "{count} vues",
        "feed": "Fil social",
        "close": "Fermer",
        "load_more": "Charger plus",
        "read_more": "Lire la suite",
    },
    "pt": {
        "view_profile": "Ver no {platform}",
        "followers": "{count} seguidores",
        "reviews": "{count} avaliações",
        "stars": "{rating} de 5 estrelas",
        "owner_reply": "Resposta do proprietário",
        "play": "Reproduzir vídeo",
        "post_on": "Publicação no {platform}",
        "previous": "Anterior",
        "next": "Próximo",
        "loading": "Carregando publicações…",
        "empty": "Ainda não há nada para mostrar.",
        "unavailable": "Este feed não está disponível no momento.",
        "likes": "{count} curtidas",
        "comments": "{count} comentários",
        "views": "{count} visualizações",
        "feed": "Feed social",
        "close": "Fechar",
        "load_more": "Carregar mais",
        "read_more": "Ler mais",
    },
}

# (seconds in the unit, singular, plural) from the largest unit down; "{n}" is the count.
_UNITS: dict[str, list[tuple[int, str, str]]] = {
    "en": [(31536000, "{n} year ago", "{n} years ago"), (2592000, "{n} month ago", "{n} months ago"),
           (604800, "{n} week ago", "{n} weeks ago"), (86400, "{n} day ago", "{n} days ago"),
           (3600, "{n} hour ago", "{n} hours ago"), (60, "{n} minute ago", "{n} minutes ago")],
    "es": [(31536000, "hace {n} año", "hace {n} años"), (2592000, "hace {n} mes", "hace {n} meses"),
           (604800, "hace {n} semana", "hace {n} semanas"), (86400, "hace {n} día", "hace {n} días"),
           (3600, "hace {n} hora", "hace {n} horas"), (60, "hace {n} minuto", "hace {n} minutos")],
    "de": [(31536000, "vor {n} Jahr", "vor {n} Jahren"), (2592000, "vor {n} Monat", "vor {n} Monaten"),
           (604800, "vor {n} Woche", "vor {n} Wochen"), (86400, "vor {n} Tag", "vor {n} Tagen"),
           (3600, "vor {n} Stunde", "vor {n} Stunden"), (60, "vor {n} Minute", "vor {n} Minuten")],
    "fr": [(31536000, "il y a {n} an", "il y a {n} ans"), (2592000, "il y a {n} mois", "il y a {n} mois"),
           (604800, "il y a {n} semaine", "il y a {n} semaines"), (86400, "il y a {n} jour", "il y a {n} jours"),
           (3600, "il y a {n} heure", "il y a {n} heures"), (60, "il y a {n} minute", "il y a {n} minutes")],
    "pt": [(31536000, "há {n} ano", "há {n} anos"), (2592000, "há {n} mês", "há {n} meses"),
           (604800, "há {n} semana", "há {n} semanas"), (86400, "há {n} dia", "há {n} dias"),
           (3600, "há {n} hora", "há {n} horas"), (60, "há {n} minuto", "há {n} minutos")],
}

_JUST_NOW = {"en": "just now", "es": "ahora mismo", "de": "gerade eben", "fr": "à l’instant", "pt": "agora mesmo"}
_DECIMAL = {"en": "."}
_THOUSANDS = {"en": "K", "es": " mil", "de": " Tsd.", "fr": " k", "pt": " mil"}
_MILLIONS = {"en": "M", "es": " M", "de": " Mio.", "fr": " M", "pt": " mi"}


def negotiate(accept_language: str | None) -> str:
    """The supported language the visitor prefers most, by Accept-Language q-values."""
    best, best_q = DEFAULT_LANG, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = _quality(params)
        if primary in LANGS and q > best_q:
            best, best_q = primary, q
    return best


def _quality(params: str) -> float:
    """The q= weight of one Accept-Language entry (1 when absent, 0 when unreadable)."""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def label(lang: str, name: str, **values: object) -> str:
    """One UI label in `lang`, with its placeholders filled."""
    return LABELS[lang][name].format(**values)


def relative_date(when: datetime, now: datetime, lang: str) -> str:
    """'3 days ago' in `lang`; a date in the future (clock skew) reads as 'just now'."""
    seconds = int((_aware(now) - _aware(when)).total_seconds())
    for size, one, many in _UNITS[lang]:
        if seconds >= size:
            n = seconds // size
            return (one if n == 1 else many).format(n=n)
    return _JUST_NOW[lang]


def parse_date(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from an item, or None when missing or unreadable."""
    if not value:
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def compact_number(value: int | float, lang: str) -> str:
    """1234 -> '1.2K' (en) / '1,2 Tsd.' (de): counts read at a glance, not to the unit."""
    for size, suffix in ((1_000_000, _MILLIONS[lang]), (1_000, _THOUSANDS[lang])):
        if value >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return text.replace(".", _DECIMAL.get(lang, ",")) + suffix
    return str(int(value))


def decimal(value: float, lang: str) -> str:
    """A place's average rating with one decimal, with the language's decimal mark."""
    return f"{value:.1f}".replace(".", _DECIMAL.get(lang, ","))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)

from django.conf import settings
from django.utils import translation


class DefaultLanguageMiddleware:
    """Spanish unless the user chose otherwise (language cookie set by /i18n/setlang/).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which would show English to
    every planner whose computer is set up in English; the product's language is Spanish.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.valid = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        lang = lang if lang in self.valid else settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response

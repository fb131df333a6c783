from django.urls import path

from apps.accounts import pages

app_name = "accounts"
urlpatterns = [
    path("account/tokens/", pages.tokens_page, name="tokens"),
]

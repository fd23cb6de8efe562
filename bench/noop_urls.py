"""Bench-only URLs: the production URLs plus POST /bench/noop/ (bench/noop_settings.py)."""
from django.urls import path
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as production_urlpatterns


class Noop(APIView):
    """Parses the JSON body through DRF and answers 201 with an empty object: nothing else."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    throttle_classes = ()

    def post(self, request):
        request.data  # noqa: B018 - parse the body, as a filing does
        return Response({}, status=201)


urlpatterns = [path("bench/noop/", Noop.as_view()), *production_urlpatterns]

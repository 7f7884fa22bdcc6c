from django.urls import path

from . import api

urlpatterns = [
    path("api/v1/jobs/<int:pk>/", api.JobDetail.as_view(), name="api-job"),
    path("api/v1/jobs/<int:pk>/cancel/", api.JobCancel.as_view(), name="api-job-cancel"),
]

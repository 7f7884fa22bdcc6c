from django.urls import path

from plan import api, views

urlpatterns = [
    path("plan/", views.public_page, name="plan-public"),
    path("plan/proyectos/<int:pk>/", views.project_page, name="plan-project"),
    path("api/v1/plan/structure/", api.Structure.as_view(), name="api-plan-structure"),
    path("api/v1/plan/projects/", api.ProjectList.as_view(), name="api-plan-projects"),
    path("api/v1/plan/projects/<int:pk>/", api.ProjectDetail.as_view(), name="api-plan-project"),
    path("api/v1/plan/projects/<int:pk>/geometry/", api.ProjectGeometry.as_view(), name="api-plan-project-geometry"),
    path("api/v1/plan/projects/<int:pk>/reports/", api.ProjectReports.as_view(), name="api-plan-project-reports"),
    path("api/v1/plan/goals/", api.GoalList.as_view(), name="api-plan-goals"),
    path("api/v1/plan/goals/<int:pk>/", api.GoalDetail.as_view(), name="api-plan-goal"),
    path("api/v1/plan/goals/<int:pk>/reports/", api.GoalReports.as_view(), name="api-plan-goal-reports"),
    path("api/v1/plan/progress/", api.Progress.as_view(), name="api-plan-progress"),
    path("api/v1/plan/export.<str:fmt>", api.Export.as_view(), name="api-plan-export"),
    path("api/v1/plan/import/", api.Import.as_view(), name="api-plan-import"),
    path("api/v1/plan/templates/<str:kind>.csv", api.Template.as_view(), name="api-plan-template"),
    path("api/v1/plan/evidence/<int:pk>/", api.Evidence.as_view(), name="api-plan-evidence"),
]

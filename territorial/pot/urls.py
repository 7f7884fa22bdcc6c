from django.urls import path

from territorial.pot import api, views

urlpatterns = [
    path("pot/", views.plan_index, name="pot-index"),
    path("pot/planes/<int:pk>/", views.editor, name="pot-editor"),
    path("pot/conflictos/", views.conflicts_page, name="pot-conflicts"),
    path("api/v1/pot/registry/", api.Registry.as_view(), name="api-pot-registry"),
    path("api/v1/pot/plans/", api.PlanList.as_view(), name="api-pot-plans"),
    path("api/v1/pot/plans/<int:pk>/", api.PlanDetail.as_view(), name="api-pot-plan"),
    path("api/v1/pot/plans/<int:pk>/zones/", api.PlanZones.as_view(), name="api-pot-zones"),
    path("api/v1/pot/plans/<int:pk>/merge/", api.PlanMerge.as_view(), name="api-pot-merge"),
    path("api/v1/pot/plans/<int:pk>/split/", api.PlanSplit.as_view(), name="api-pot-split"),
    path("api/v1/pot/plans/<int:pk>/transition/", api.PlanTransition.as_view(), name="api-pot-transition"),
    path("api/v1/pot/plans/<int:pk>/versions/", api.PlanVersions.as_view(), name="api-pot-versions"),
    path("api/v1/pot/plans/<int:pk>/versions/<int:number>/", api.PlanVersionDetail.as_view(), name="api-pot-version"),
    path("api/v1/pot/plans/<int:pk>/versions/<int:number>/restore/", api.PlanRestore.as_view(), name="api-pot-restore"),
    path("api/v1/pot/plans/<int:pk>/comments/", api.PlanComments.as_view(), name="api-pot-comments"),
    path("api/v1/pot/plans/<int:pk>/waivers/", api.PlanWaivers.as_view(), name="api-pot-waivers"),
    path("api/v1/pot/plans/<int:pk>/revision/", api.PlanRevision.as_view(), name="api-pot-revision"),
    path("api/v1/pot/review-queue/", api.ReviewQueue.as_view(), name="api-pot-review-queue"),
    path("api/v1/pot/plans/<int:pk>/import/", api.PlanImport.as_view(), name="api-pot-import"),
    path("api/v1/pot/plans/<int:pk>/export.<str:fmt>", api.PlanExport.as_view(), name="api-pot-export"),
    path("api/v1/pot/determinants/", api.Determinants.as_view(), name="api-pot-determinants"),
    path("api/v1/pot/conflicts/", api.Conflicts.as_view(), name="api-pot-conflicts"),
]

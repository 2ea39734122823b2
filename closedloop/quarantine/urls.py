from django.urls import path

from closedloop.quarantine import (
    episode_views,
    observation_views,
    release_views,
    replan_views,
    worklist_views,
)

app_name = "loop"
urlpatterns = [
    # episodes and custody (episode_views.py)
    path("episodes/", episode_views.episode_list, name="episodes"),
    path("episodes/<int:pk>/", episode_views.episode_detail, name="episode"),
    path("episodes/<int:pk>/place/", episode_views.episode_place_view, name="place"),
    path("episodes/<int:pk>/give/", episode_views.handover_give_view, name="give"),
    path("episodes/<int:pk>/receive/", episode_views.handover_receive_view, name="receive"),
    path("episodes/<int:pk>/refuse/", episode_views.handover_refuse_view, name="refuse"),
    path("episodes/<int:pk>/close/", episode_views.episode_close_view, name="close"),
    # observations (observation_views.py)
    path("episodes/<int:pk>/checks/", observation_views.health_check_view, name="health_check"),
    path("episodes/<int:pk>/specimens/", observation_views.specimen_view, name="specimen"),
    path("custodians/<int:pk>/round/", observation_views.check_round_view, name="check_round"),
    path("results/upload/", observation_views.result_upload_view, name="result_upload"),
    path("alerts/<int:pk>/resolve/", observation_views.alert_resolve_view, name="alert_resolve"),
    # release (release_views.py)
    path("episodes/<int:pk>/release/", release_views.release_view, name="release"),
    path("certificates/<str:code>/", release_views.certificate_view, name="certificate"),
    path("verify/", release_views.verify_view, name="verify"),
    # work lists and alerts (worklist_views.py)
    path("worklist/custodian/<int:pk>/", worklist_views.custodian_worklist, name="custodian_worklist"),
    path("worklist/community/<int:pk>/", worklist_views.community_worklist, name="community_worklist"),
    path("alerts/", worklist_views.headquarters_alerts, name="alerts"),
    # policy change (replan_views.py)
    path("replan/", replan_views.replan_preview_view, name="replan"),
    path("replan/confirm/", replan_views.replan_confirm, name="replan_confirm"),
]

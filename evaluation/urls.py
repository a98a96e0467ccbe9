from django.urls import path

from evaluation import views_drills, views_playbook, views_reports, views_reviews, views_targets

urlpatterns = [
    path("playbook/", views_playbook.playbook_page, name="playbook-page"),
    path("playbook/propose", views_playbook.playbook_propose, name="playbook-propose"),
    path("playbook/<str:number>.<str:fmt>", views_playbook.playbook_download, name="playbook-download"),
    path("drills/", views_drills.drills_page, name="drills-page"),
    path("drills/start", views_drills.drill_start_view, name="drill-start"),
    path("drills/tabletop", views_drills.tabletop_record_view, name="tabletop-record"),
    path("reports/", views_reports.reports_page, name="reports-page"),
    path("reports/export", views_reports.report_export, name="report-export"),
    path("reports/samples", views_reports.sample_draw, name="sample-draw"),
    path("reports/<str:report_id>.pdf", views_reports.report_download, name="report-download"),
    path("reports/<str:report_id>/attest", views_reports.report_attest, name="report-attest"),
    path("targets/", views_targets.targets_page, name="targets-page"),
    path("reviews/<str:reference>/", views_reviews.review_page, name="review-page"),
    path("reviews/<str:reference>/<slug:what>", views_reviews.review_post, name="review-post"),
]

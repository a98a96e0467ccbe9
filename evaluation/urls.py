from django.urls import path

from evaluation import views_reviews

urlpatterns = [
    path("reviews/<str:reference>/", views_reviews.review_page, name="review-page"),
    path("reviews/<str:reference>/<slug:what>", views_reviews.review_post, name="review-post"),
]

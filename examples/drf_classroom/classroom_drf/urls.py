"""Routes of the example."""

from django.urls import path

from . import views

urlpatterns = [
    path("v1/auth/signup", views.SignupView.as_view()),
    path("v1/auth/login", views.LoginView.as_view()),
    path("v1/lectures/<int:lecture_id>", views.LectureView.as_view()),
    path("v1/lectures/<int:lecture_id>/enroll", views.EnrollView.as_view()),
    path("v1/user/kakao-channel-added", views.KakaoChannelView.as_view()),
    path("v1/ping", views.PingView.as_view()),
    path("v1/boom", views.BoomView.as_view()),
    path("v1/django-404", views.DjangoNotFoundView.as_view()),
    path("v1/raise/<str:code>", views.RaiseView.as_view()),
]

"""Routes."""

from django.urls import path

from relaydemo import views

urlpatterns = [
    path("v1/auth/kakao/link", views.KakaoLinkView.as_view()),
    path("v1/auth/kakao/friends", views.KakaoFriendsView.as_view()),
    path("v1/lectures/<int:lecture_id>/average", views.LectureAverageView.as_view()),
]

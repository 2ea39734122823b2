"""URLs of the site board, the check-in desk, check-out and the turnaround list (included by facilities.urls)."""

from django.urls import path

from closedloop.facilities import board_views, desk_views

urlpatterns = [
    # the board and the rooms (board_views.py)
    path("<int:pk>/board/", board_views.board_view, name="board"),
    path("rooms/<int:pk>/", board_views.room_view, name="room"),
    path("rooms/<int:pk>/transition/", board_views.room_transition_view, name="room_transition"),
    path("rooms/<int:pk>/unmask/<int:stay>/", board_views.room_unmask_view, name="room_unmask"),
    path("<int:pk>/turnaround/", board_views.turnaround_view, name="turnaround"),
    # the check-in desk and check-out (desk_views.py)
    path("<int:pk>/desk/", desk_views.desk_view, name="desk"),
    path("<int:pk>/desk/checkin/", desk_views.checkin_view, name="desk_checkin"),
    path("<int:pk>/cards/", desk_views.cards_view, name="cards"),
    path("stays/<int:pk>/card/", desk_views.card_view, name="card"),
    path("stays/<int:pk>/checkout/", desk_views.checkout_view, name="checkout"),
]

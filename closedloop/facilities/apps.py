from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "closedloop.facilities"
    label = "facilities"
    verbose_name = _("Isolation sites and rooms")

    def ready(self) -> None:
        # A person who leaves a site by any path (hand-over, release, the case path) frees their room.
        from closedloop.facilities.actions.stays import stay_close_on_custody_change
        from closedloop.quarantine.hooks import on_custody_change

        on_custody_change(stay_close_on_custody_change)

        # Rooms, staff and care requests on the closed loop's work lists and headquarters page.
        from closedloop.facilities import worklist_sections

        worklist_sections.register()

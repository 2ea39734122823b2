"""The back office writes through the actions, so every change is audited."""

from __future__ import annotations

from closedloop.core.models import ApiToken, AuditEvent, Jurisdiction, User


def test_admin_creates_a_community_through_the_action(client, admin_user, town_a):
    client.force_login(admin_user)
    response = client.post("/admin/core/jurisdiction/add/", {
        "code": "330782001009", "name": "新社区", "name_en": "Xin", "level": "community", "parent": town_a.pk,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Jurisdiction.objects.get(code="330782001009")
    assert created.city_id == town_a.city_id
    assert AuditEvent.objects.filter(action="jurisdiction.create", target_id=str(created.pk)).exists()


def test_admin_refuses_a_community_under_a_city(client, admin_user, city):
    client.force_login(admin_user)
    response = client.post("/admin/core/jurisdiction/add/", {
        "code": "330782999", "name": "错层", "level": "community", "parent": city.pk,
    })
    assert response.status_code == 200
    assert not Jurisdiction.objects.filter(code="330782999").exists()


def test_admin_user_create_and_update_are_audited(client, admin_user, town_a, town_b):
    client.force_login(admin_user)
    response = client.post("/admin/core/user/add/", {
        "username": "new_site", "full_name": "新人", "role": "site_staff", "jurisdictions": [town_a.pk],
        "password": "Long-enough-pass-77",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="new_site")
    assert user.check_password("Long-enough-pass-77") and list(user.jurisdictions.all()) == [town_a]
    response = client.post(f"/admin/core/user/{user.pk}/change/", {
        "full_name": "新人", "role": "site_staff", "jurisdictions": [town_b.pk], "is_active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(user.jurisdictions.all()) == [town_b]
    update = AuditEvent.objects.get(action="user.update", target_id=str(user.pk))
    assert update.before == {"jurisdictions": ["330782001"]} and update.after == {"jurisdictions": ["330782002"]}


def test_admin_token_is_shown_once_and_only_its_hash_kept(client, admin_user, site_a):
    client.force_login(admin_user)
    response = client.post("/admin/core/apitoken/add/", {"user": site_a.pk, "name": "lab robot"}, follow=True)
    token = ApiToken.objects.get(name="lab robot")
    page = response.content.decode()
    key = page.split("cl_", 1)[1].split(" ", 1)[0].split("<", 1)[0].split("—", 1)[0].strip()
    assert ApiToken.hash_key("cl_" + key) == token.key_hash


def test_audit_log_is_read_only_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    assert client.get("/admin/core/auditevent/").status_code == 200


def test_non_staff_cannot_open_the_admin(client, duty_officer):
    client.force_login(duty_officer)
    assert client.get("/admin/").status_code == 302


def test_admin_refuses_a_weak_password_next_to_the_field(client, admin_user, town_a):
    client.force_login(admin_user)
    response = client.post("/admin/core/user/add/", {
        "username": "weak", "full_name": "x", "role": "site_staff", "jurisdictions": [town_a.pk], "password": "123",
    })
    assert response.status_code == 200
    assert not User.objects.filter(username="weak").exists()


def test_admin_sets_the_city_population_through_the_action(client, admin_user, city):
    client.force_login(admin_user)
    response = client.post(f"/admin/core/jurisdiction/{city.pk}/change/", {
        "name": city.name, "name_en": city.name_en, "population": "1859390"})
    assert response.status_code == 302, response.content[:500]
    city.refresh_from_db()
    assert city.population == 1859390
    event = AuditEvent.objects.get(action="jurisdiction.population")
    assert event.before == {"population": None} and event.after == {"population": 1859390}
    assert event.actor == admin_user

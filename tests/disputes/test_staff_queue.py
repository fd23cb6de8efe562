from django.urls import reverse

from disputes.workflow.names import State


def test_the_queue_lists_open_cases_for_staff_with_bounded_queries(client, alice, file_case, django_assert_max_num_queries):
    cases = [file_case(amount=f"{10 + i}.00") for i in range(12)]
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("staff-queue"))
    assert response.status_code == 200
    body = response.content.decode()
    for case in cases:
        assert case.reference in body
    assert f'data-state="{State.SUBMITTED}"' in body


def test_the_queue_needs_login_and_the_view_permission(client, mallory):
    response = client.get(reverse("staff-queue"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(mallory)
    assert client.get(reverse("staff-queue")).status_code == 403

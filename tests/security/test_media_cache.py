"""Item images reach a candidate's PC through signed links and are never stored in its cache
(``no-store``): a lab PC shared with the next session must not keep secret bank content."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.security.world import World


def test_candidate_image_links_are_not_stored(world: World, module_client: Any) -> None:
    state = module_client.get(
        "/api/v1/attempts/current", headers=world.candidates["a"].headers
    ).json()
    texts = [i["stem"] for i in state["items"]] + [
        o["text"] for i in state["items"] for o in i["options"]
    ]
    links = {html.unescape(x) for x in re.findall(r'src="(/api/v1/media/[^"]+)"', "\n".join(texts))}
    assert links, "the world's form shows images"
    for link in links:
        response = module_client.get(link)
        assert response.status_code == 200, link
        assert response.headers["cache-control"] == "no-store"
        assert "immutable" not in response.headers["cache-control"]

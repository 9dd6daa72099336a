"""A real smear field (BCCD's BloodImage_00000, MIT licence) uploaded on Classify in Chromium: outlined, numbered, answered."""
from __future__ import annotations

from paths import BCCD
from requirements import require_bccd_field
from streamlit_page import RESULT_TIMEOUT_MS, open_app, upload, wait_idle, wait_images_loaded

from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.imaging.fields.outlines import KEPT_RGB

FIELD = "BloodImage_00000"
# Pixels of the outlines' yellow in the field as drawn in the browser (after PNG round trip and scaling).
OUTLINE_PIXELS_JS = """([red, green, blue]) => {
    const image = [...document.querySelectorAll('[data-testid="stImage"] img')][0];
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let at = 0; at < pixels.length; at += 4) {
        if (Math.abs(pixels[at] - red) < 30 && Math.abs(pixels[at + 1] - green) < 30 && Math.abs(pixels[at + 2] - blue) < 40) count++;
    }
    return {count, width: canvas.width, height: canvas.height};
}"""


def test_a_bccd_field_shows_outlined_numbered_cells_and_their_answers(page, server, screenshots):
    from playwright.sync_api import expect

    require_bccd_field(FIELD)
    open_app(page, server)
    upload(page, [(f"{FIELD}.jpg", (BCCD / "JPEGImages" / f"{FIELD}.jpg").read_bytes(), "image/jpeg")])
    heading = page.locator("h3").filter(has_text=f"{FIELD}.jpg: a smear field, ")
    expect(heading).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(heading).to_have_text(f"{FIELD}.jpg: a smear field, 1 whole white cell found")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(LYMPHOID_ONLY_NOTE).first).to_be_visible()
    expect(main.get_by_text("outlined in yellow and numbered").first).to_be_visible()
    wait_images_loaded(page, minimum=2)
    drawn = page.evaluate(OUTLINE_PIXELS_JS, list(KEPT_RGB))
    assert (drawn["width"], drawn["height"]) == (640, 480)  # the field itself, first on the page
    assert drawn["count"] > 500, drawn  # its cell's outline and number, drawn in yellow
    expect(page.get_by_role("button", name="Explain #1")).to_be_visible()
    expect(page.locator("h3").filter(has_text=f"{FIELD}.jpg#1: ")).to_be_visible()  # the cell's details
    page.screenshot(path=str(screenshots / "classify_field.png"), full_page=True)

"""The try-it page at `/` in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): open it with no network but the server's, submit every model's form, read the answer."""

import shutil

import pytest

from rnnapps.pipelines.forecast import demo_data

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 # offline: no proxy, no background fetches; the page may only reach the server itself
                 "--no-proxy-server", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _section(browser, server, model):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if not browser.current_url.startswith(server.url):
        browser.get(server.url + "/")
    WebDriverWait(browser, 60).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    return browser.find_element(By.ID, f"model-{model}")


def _submit(browser, section, signature: str | None = None) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    if signature:
        Select(section.find_element(By.NAME, "signature_name")).select_by_value(signature)
    answer = section.find_element(By.CSS_SELECTOR, "pre.answer")
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 120).until(lambda b: answer.text and answer.text != "working…")
    return answer.text


def _fill(section, name: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = section.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def test_the_page_lists_every_model_and_uses_no_other_origin(browser, server, served_bundles):
    from selenium.webdriver.common.by import By

    _section(browser, server, "sentiment")
    assert {s.get_attribute("id") for s in browser.find_elements(By.TAG_NAME, "section")} == {
        f"model-{task}" for task in served_bundles}
    page = browser.page_source
    assert "http://" not in page.replace(server.url, "") and "https://" not in page  # nothing from a CDN
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(server.url) for url in resources)


def test_sentiment_form(browser, server):
    section = _section(browser, server, "sentiment")
    _fill(section, "text", "i loved the story!\nthe movie was not great.")
    answer = _submit(browser, section)
    assert answer.startswith("label:") and "probability:" in answer and "error" not in answer
    labels = answer.split("label:\n", 1)[1].split("\n\n")[0].splitlines()
    assert len(labels) == 2


def test_translate_form_with_each_signature(browser, server):
    section = _section(browser, server, "translate")
    _fill(section, "text", "the girl will carry a white cup .")
    for signature in ("serving_default", "translate_greedy"):
        answer = _submit(browser, section, signature)  # the text stays when the signature changes
        assert "translation:\n" in answer and "score:" in answer, answer


def test_generate_form_with_temperature(browser, server):
    section = _section(browser, server, "generate")
    _fill(section, "prompt", "ROMEO:")
    _fill(section, "length", "30")
    _fill(section, "temperature", "0.5")
    answer = _submit(browser, section)
    generated = answer.split("generated:\n", 1)[1].split("\n\ntext:")[0]
    assert len(generated) == 30, answer
    assert "text:\nROMEO:" in answer


def test_caption_form_uploads_an_image(browser, server, served_bundles, tmp_path):
    from selenium.webdriver.common.by import By

    from rnnapps import registry

    image = tmp_path / "scene.png"
    image.write_bytes(registry.get("caption").pipeline_class().from_bundle(served_bundles["caption"]).demo_inputs[0])
    section = _section(browser, server, "caption")
    section.find_element(By.NAME, "image_bytes").send_keys(str(image))
    answer = _submit(browser, section)
    assert answer.startswith("caption:\n") and len(answer.split("\n")[1].split()) >= 2, answer


def test_forecast_form_from_pasted_numbers(browser, server):
    section = _section(browser, server, "forecast")
    history = "\n".join(f"{load:.3f}, {temperature:.3f}" for load, temperature in demo_data.series()[1][-200:])
    # Pasted, not typed: send_keys of 200 lines is slow and tests the keyboard, not the page.
    browser.execute_script("arguments[0].value = arguments[1]", _find(section, "history"), history)
    answer = _submit(browser, section)
    assert answer.startswith("forecast:\n") and "quantiles:" in answer, answer
    assert len(answer.split("\n")[1].split(",")) == 24 * 2  # one example: [H, targets], compact JSON

    _fill(section, "history", "1, 2\n3, 4")
    assert "at least" in _submit(browser, section)  # the model's own message, shown as an error


def _find(section, name):
    from selenium.webdriver.common.by import By

    return section.find_element(By.NAME, name)


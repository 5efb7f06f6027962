"""The try-it page at `/` in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): open it with no network but the server's, use every model's examples and forms as a person would,
read the rendered answer from the page, and save a screenshot of each for a person to look at
($RNNAPPS_SCREENSHOTS, by default test-artifacts/page/ in the repository)."""

import os
import pathlib
import shutil

import pytest

from rnnapps.pipelines.forecast import demo_data

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = pathlib.Path(os.environ.get("RNNAPPS_SCREENSHOTS",
                                          pathlib.Path(__file__).parents[1] / "test-artifacts" / "page"))


# What the fake microphone plays (in a loop): half a second of silence, a toy recording, two seconds of silence.
MICROPHONE_SEED = 5


def _microphone_file(folder: pathlib.Path) -> tuple[pathlib.Path, str]:
    """A 48 kHz WAV file for Chromium's fake capture device, and the transcript of the toy recording in it."""
    import numpy as np

    from rnnapps.datasets import audio
    from rnnapps.pipelines.speech import demo_data as speech_demo

    recording = speech_demo.generate(1, seed=MICROPHONE_SEED)[0]
    samples = audio.resample(recording.samples, speech_demo.RATE, 48000).numpy()
    silence = np.zeros(24000, np.float32)
    path = folder / "microphone.wav"
    path.write_bytes(audio.encode_wav(np.concatenate([silence, samples, silence, silence, silence, silence]), 48000))
    return path, recording.text


@pytest.fixture(scope="module")
def microphone(tmp_path_factory):
    return _microphone_file(tmp_path_factory.mktemp("microphone"))


@pytest.fixture(scope="module")
def browser(microphone):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1100,1400",
                 # offline: no proxy, no background fetches; the page may only reach the server itself
                 "--no-proxy-server", "--disable-background-networking", "--disable-component-update",
                 "--autoplay-policy=no-user-gesture-required",  # a test plays a tune without a click
                 # a microphone that plays a file, allowed without asking
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={microphone[0]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _by(selector):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, selector


def _section(browser, server, model):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")  # a fresh page: no state left by another test
    WebDriverWait(browser, 60).until(lambda b: b.find_element(*_by("body")).get_attribute("data-ready"))
    return browser.find_element(*_by(f"#model-{model}"))


def _run(browser, section, signature: str | None = None, expect: str = "done"):
    """Submit the section's form; returns its answer element once rendered (state `expect`)."""
    from selenium.webdriver.support.ui import Select, WebDriverWait

    if signature:
        Select(section.find_element(*_by("select[name=signature_name]"))).select_by_value(signature)
    answer = section.find_element(*_by(".answer"))
    section.find_element(*_by("button[type=submit]")).click()
    WebDriverWait(browser, 120).until(lambda b: answer.get_attribute("data-state") in ("done", "error"))
    assert answer.get_attribute("data-state") == expect, answer.text
    return answer


def _screenshot(browser, section, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", section)
    assert section.screenshot(str(SCREENSHOTS / f"{name}.png"))


def _fill(section, name: str, text: str) -> None:
    field = section.find_element(*_by(f"[name={name}]"))
    field.clear()
    field.send_keys(text)


def _set(browser, section, name: str, text: str) -> None:
    """Put text into a field at once (send_keys of many lines tests the keyboard, not the page)."""
    browser.execute_script("arguments[0].value = arguments[1]", section.find_element(*_by(f"[name={name}]")), text)


def test_the_page_lists_every_model_with_examples_and_uses_no_other_origin(browser, server, served_bundles):
    _section(browser, server, "sentiment")
    sections = browser.find_elements(*_by("section"))
    assert {s.get_attribute("id") for s in sections} == {f"model-{task}" for task in served_bundles}
    assert {s.get_attribute("data-task") for s in sections} == set(served_bundles)
    assert all(s.find_elements(*_by("[data-example]")) for s in sections)  # examples one click away
    page = browser.page_source
    assert "http://" not in page.replace(server.url, "").replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page  # nothing from a CDN
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(server.url) for url in resources)


def test_sentiment_shows_each_label_with_a_probability_bar(browser, server, served_bundles):
    from rnnapps import registry

    pipeline = registry.get("sentiment").pipeline_class().from_bundle(served_bundles["sentiment"])
    labels = pipeline.preprocessor.label_names
    section = _section(browser, server, "sentiment")
    section.find_element(*_by("[data-example=all]")).click()
    examples = section.find_element(*_by("[name=text]")).get_attribute("value").splitlines()
    assert len(examples) >= 2
    answer = _run(browser, section)
    items = answer.find_elements(*_by(".item"))
    assert len(items) == len(examples)
    for item, text in zip(items, examples):
        assert item.find_element(*_by(".input")).text.strip("“”") == text
        assert item.find_element(*_by(".label")).text in labels
        probability = float(item.find_element(*_by(".probability")).text.rstrip("%"))
        width = float(item.find_element(*_by(".bar span")).get_attribute("style").split(":")[1].strip(" %;"))
        assert 100 / len(labels) - 1 <= probability <= 100 and abs(width - probability) <= 0.6
    _screenshot(browser, section, "sentiment")


def test_translate_shows_the_translation_and_its_attention_heatmap(browser, server, served_bundles):
    from rnnapps import registry

    text = "the girl will carry a white cup ."
    pipeline = registry.get("translate").pipeline_class().from_bundle(served_bundles["translate"])
    section = _section(browser, server, "translate")
    assert section.find_element(*_by("select[name=signature_name]")).get_attribute("value") == "translate_attention"
    _fill(section, "text", text)
    answer = _run(browser, section)
    assert answer.find_element(*_by(".translation")).text == pipeline.predict([text])[0]["translation"]
    source = pipeline.preprocessor.source_tokens(text)
    labels = [label.get_attribute("textContent") for label in answer.find_elements(*_by("svg.heatmap > text"))]
    assert labels[:len(source)] == source  # the columns: the source tokens; then one row per written token
    rows = len(labels) - len(source)
    assert rows >= 2 and len(answer.find_elements(*_by("svg.heatmap rect"))) == rows * len(source)
    _screenshot(browser, section, "translate")

    answer = _run(browser, section, "translate_greedy")  # the text stays; no attention, no heatmap
    assert answer.find_element(*_by(".translation")).text and not answer.find_elements(*_by("svg.heatmap"))


def test_generate_puts_the_prompt_first_and_shows_the_sample_after_it(browser, server):
    section = _section(browser, server, "generate")
    names = [field.get_attribute("name") for field in section.find_elements(*_by(".fields [name]"))]
    assert names[0] == "prompt" and {"length", "temperature", "seed"} <= set(names)
    example = next(b for b in section.find_elements(*_by("[data-example]")) if b.text != "(no prompt)")
    example.click()
    prompt = section.find_element(*_by("[name=prompt]")).get_attribute("value")
    _fill(section, "length", "60")
    _fill(section, "temperature", "0.5")
    answer = _run(browser, section)
    shown = answer.find_element(*_by(".sample"))
    assert shown.find_element(*_by(".prompt")).get_attribute("textContent") == prompt
    assert len(shown.find_element(*_by(".generated")).get_attribute("textContent")) == 60
    _screenshot(browser, section, "generate")

    _fill(section, "length", "100000000")
    assert "length must be at most" in _run(browser, section, expect="error").text  # the bound, before any work


def test_a_tune_shows_as_abc_and_its_recording_plays(browser, tunes_server):
    from selenium.webdriver.support.ui import WebDriverWait

    section = _section(browser, tunes_server, "tunes")
    assert section.find_element(*_by("[name=length]")).get_attribute("value") == "400"  # the recipe's, not 200
    section.find_element(*_by("[data-example]")).click()
    prompt = section.find_element(*_by("[name=prompt]")).get_attribute("value")
    assert prompt.startswith("M:") and "\nK:" in prompt  # a header the held-out tunes share
    answer = _run(browser, section)
    assert answer.find_element(*_by(".sample .prompt")).get_attribute("textContent") == prompt
    listen = answer.find_element(*_by(".listen"))
    WebDriverWait(browser, 60).until(lambda b: listen.get_attribute("data-state") in ("done", "error"))
    assert listen.get_attribute("data-state") == "done", listen.text
    browser.set_script_timeout(30)
    played = browser.execute_async_script("""
        const [audio, done] = arguments;
        const play = () => audio.play().then(
            () => setTimeout(() => done({duration: audio.duration, time: audio.currentTime,
                                         paused: audio.paused}), 800),
            error => done({error: String(error)}));
        if (audio.readyState >= 1) play(); else audio.addEventListener("loadedmetadata", play);
    """, listen.find_element(*_by("audio")))
    assert "error" not in played, played
    assert played["duration"] > 4 and played["time"] > 0 and not played["paused"], played
    _screenshot(browser, section, "generate-tunes")


def test_caption_writes_the_caption_under_the_image(browser, server, served_bundles, tmp_path):
    from rnnapps import registry

    section = _section(browser, server, "caption")
    section.find_element(*_by(".thumbs img")).click()  # an example image
    answer = _run(browser, section)
    figure = answer.find_element(*_by("figure"))
    assert figure.find_element(*_by("img")).get_attribute("src").startswith("data:image")
    assert len(figure.find_element(*_by("figcaption")).text.split()) >= 2
    _screenshot(browser, section, "caption")

    image = tmp_path / "scene.png"  # an uploaded file
    image.write_bytes(registry.get("caption").pipeline_class().from_bundle(served_bundles["caption"]).demo_inputs[0])
    section.find_element(*_by("[name=image_bytes]")).send_keys(str(image))
    assert len(_run(browser, section).find_elements(*_by("figure"))) == 1


def test_forecast_reads_an_uploaded_csv_and_draws_the_forecast_with_its_band(browser, server, tmp_path):
    timestamps, values = demo_data.series()
    csv = tmp_path / "recent.csv"  # another column order than the model's, with the date: the header says which
    csv.write_text("temperature,date,load\n" + "".join(
        f"{temperature:.3f},{str(stamp).replace('T', ' ')},{load:.3f}\n"
        for stamp, (load, temperature) in zip(timestamps[-300:], values[-300:])))
    section = _section(browser, server, "forecast")
    section.find_element(*_by("input[data-role=csv]")).send_keys(str(csv))
    answer = _run(browser, section)
    charts = answer.find_elements(*_by("svg.chart"))
    assert [chart.get_attribute("aria-label") for chart in charts] == ["forecast of load", "forecast of temperature"]
    for chart in charts:
        assert chart.find_elements(*_by("path.band")) and chart.find_elements(*_by("path.forecast"))
    _screenshot(browser, section, "forecast")

    section.find_element(*_by("[data-example]")).click()  # a held-out history, written as CSV with its header
    assert section.find_element(*_by("[name=history]")).get_attribute("value").startswith("load,temperature\n")
    _run(browser, section)

    _set(browser, section, "history", "1, 2\n3, 4")
    assert "at least" in _run(browser, section, expect="error").text  # the model's own message
    _set(browser, section, "history", "date,load\n2026-01-01 00:00,1")
    assert 'no column "temperature"' in _run(browser, section, expect="error").text


def test_the_raw_json_is_one_click_away(browser, server):
    section = _section(browser, server, "sentiment")
    _fill(section, "text", "a fine film")
    answer = _run(browser, section)
    raw = answer.find_element(*_by("details pre.raw"))
    assert not raw.is_displayed()
    answer.find_element(*_by("details summary")).click()
    assert raw.is_displayed() and '"label"' in raw.text and '"probabilities"' in raw.text


@pytest.mark.parametrize("text, columns, expected", [
    ("load;temperature\n1,5;2,25", ["load", "temperature"], [[1.5, 2.25]]),  # semicolons and decimal commas
    ('"temperature","date","load"\n3,"2026-01-01 00:00",1', ["load", "temperature"], [[1, 3]]),  # quoted header
    ("date,load,temperature\n2026-01-01 00:00,1,2", None, [[1, 2]]),  # no column names known: the numeric ones
    ("1 2\n3 4", ["a", "b"], [[1, 2], [3, 4]]),  # spaces, no header
    ("2026-01-01 00:00,1,2", ["load", "temperature"], "add a header line"),  # not taken for a header
    ("load,temperature\n1,2\n3", ["load", "temperature"], "line 3 has 1 values"),
    ('"1,234",5', ["a", "b"], '"1,234" is not a number'),  # no guessing about thousands separators
    ("load,temperature", ["load", "temperature"], "no data under it"),
])
def test_the_history_csv_is_read_as_a_person_writes_it(browser, server, text, columns, expected):
    _section(browser, server, "forecast")
    answer = browser.execute_script(
        "try { return parseTable(arguments[0], 'history', arguments[1]); } catch (e) { return e.message; }",
        text, columns)
    if isinstance(expected, str):
        assert isinstance(answer, str) and expected in answer, answer
    else:
        assert answer == expected


def test_speech_transcribes_an_example_an_uploaded_wav_and_the_microphone(browser, server, served_bundles, microphone,
                                                                            tmp_path):
    import time

    from selenium.webdriver.support.ui import WebDriverWait

    from rnnapps.datasets import audio
    from rnnapps.pipelines.speech import demo_data as speech_demo

    section = _section(browser, server, "speech")
    section.find_element(*_by("button[data-example]")).click()
    answer = _run(browser, section)
    assert answer.find_element(*_by("audio")).get_attribute("src").startswith("data:audio/wav;base64,")
    assert answer.find_element(*_by(".transcript")).text not in ("", "(nothing heard)")

    recording = speech_demo.generate(1, seed=31)[0]
    clip = tmp_path / "clip.wav"
    clip.write_bytes(audio.encode_wav(recording.samples, speech_demo.RATE))
    section.find_element(*_by("[name=audio]")).send_keys(str(clip))
    assert [t.text for t in _run(browser, section).find_elements(*_by(".transcript"))] == [recording.text]

    # The fake microphone plays the file from its start: record its first 2.5 seconds (the toy recording is
    # in them, between silences), in the page, as a person would.
    record = section.find_element(*_by("button[data-role=record]"))
    record.click()
    status = section.find_element(*_by("[data-role=recording]"))
    WebDriverWait(browser, 30).until(lambda b: status.text == "recording…")
    time.sleep(2.5)
    record.click()
    WebDriverWait(browser, 30).until(lambda b: status.get_attribute("data-seconds"))
    assert float(status.get_attribute("data-seconds")) >= 2
    heard = _run(browser, section).find_element(*_by(".transcript")).text
    assert heard == microphone[1], (heard, microphone[1])
    _screenshot(browser, section, "speech")

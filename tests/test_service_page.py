"""The web page in a real browser: Debian's headless Chromium driven by Selenium (chromium-driver),
against the `fluxopt serve` of the ``service`` fixture. A negotiator's path: drop a workbook, see its
problems, change a parameter, run, see the proposal and its explanations, download the workbook."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from service_support import INSTANCES, workbook

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--window-size=1280,2200"]
#: Where screenshots go when FLUXOPT_CAPTURES is set (to look at the page).
CAPTURES = os.environ.get("FLUXOPT_CAPTURES")


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "telechargements"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def capture(driver: webdriver.Chrome, name: str) -> None:
    if CAPTURES:
        Path(CAPTURES).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(CAPTURES) / f"{name}.png"))


def drop(driver: webdriver.Chrome, path: Path) -> None:
    driver.find_element(By.ID, "fichier").send_keys(str(path))


def test_from_the_workbook_to_the_proposal_and_its_workbook(service, browser, tmp_path):
    """exemple with the préfet's cap at 20 %: PREF gets 0.20 · 120 = 24 dwellings a year instead of 27."""
    wait = WebDriverWait(browser, 60)
    browser.get(service)
    assert browser.find_element(By.TAG_NAME, "h1").text == "fluxopt"
    browser.find_element(By.ID, "lien-modele").click()
    template = tmp_path / "telechargements" / "modele.xlsx"
    started = time.monotonic()
    while not template.exists():
        assert time.monotonic() < started + 30, "the template was not downloaded"
        time.sleep(0.1)
    time.sleep(0.2)
    assert "patrimoine" in load_workbook(template).sheetnames
    drop(browser, workbook(INSTANCES / "exemple", tmp_path / "exemple.xlsx"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "validation"), "Instance valide"))
    assert "1 bailleur(s), 3 segments, 3 réservataires" in browser.find_element(By.ID, "validation").text
    assert "fin_droits" in browser.find_element(By.ID, "validation").text  # the warning, in the table
    browser.find_element(By.ID, "plafond-prefet").send_keys("20")
    capture(browser, "1-valide")
    browser.find_element(By.ID, "calculer").click()
    wait.until(ec.visibility_of_element_located((By.ID, "etape-resultat")))
    assert browser.find_element(By.ID, "statut").text == "Proposition calculée."
    reservataires = browser.find_element(By.ID, "table-reservataires").text
    assert "PREF Préfet 1 27,00 24,00 24 -11,1" in reservataires
    assert "AL Action Logement 1 31,00 31,00 31 0,0" in reservataires
    assert "PREF chez B1 : 24,00 logements par an au lieu de 27,00" in browser.find_element(By.ID, "explications").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graphique .barre span")) == 4  # 3 réservataires + own share
    capture(browser, "2-proposition")
    browser.find_element(By.ID, "telecharger-classeur").click()
    target = tmp_path / "telechargements" / "resultats.xlsx"
    deadline = time.monotonic() + 30
    while not target.exists():
        assert time.monotonic() < deadline, "the workbook was not downloaded"
        time.sleep(0.1)
    time.sleep(0.2)
    assert "Synthèse" in load_workbook(target).sheetnames
    browser.find_element(By.CSS_SELECTOR, "[data-document='rapport.pdf']").click()
    report = tmp_path / "telechargements" / "rapport.pdf"
    while not report.exists():
        assert time.monotonic() < deadline + 60, "the report was not downloaded"
        time.sleep(0.1)


def test_a_workbook_with_errors_shows_them_as_a_table(service, browser, tmp_path):
    path = workbook(INSTANCES / "exemple", tmp_path / "exemple.xlsx")
    book = load_workbook(path)
    book["patrimoine"]["E3"] = "beaucoup"
    book.save(path)
    browser.get(service)
    drop(browser, path)
    WebDriverWait(browser, 60).until(ec.text_to_be_present_in_element((By.ID, "validation"), "erreur(s)"))
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#validation tbody tr")]
    assert any(r.startswith("erreur patrimoine (feuille) 3 logements") for r in rows), rows
    assert not browser.find_element(By.ID, "calculer").is_enabled()
    capture(browser, "3-erreurs")

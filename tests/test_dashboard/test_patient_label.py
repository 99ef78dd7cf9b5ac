"""How a patient is named: name, MRN, date of birth and age, everywhere."""

from __future__ import annotations

import datetime as dt

from dashboard.patient_label import age_on, file_name_part, patient_label, patient_label_text

TODAY = dt.date(2026, 11, 29)


def test_age_counts_whole_years_and_turns_on_the_birthday() -> None:
    assert age_on(dt.date(1980, 11, 29), TODAY) == 46
    assert age_on(dt.date(1980, 11, 30), TODAY) == 45
    assert age_on(dt.date(2000, 2, 29), dt.date(2026, 2, 28)) == 25
    assert age_on(dt.date(2000, 2, 29), dt.date(2026, 3, 1)) == 26


def test_three_patients_of_one_name_read_differently() -> None:
    labels = {
        patient_label_text("Casey Example", mrn, born, today=TODAY)
        for mrn, born in (
            ("00123", dt.date(1980, 2, 3)),
            ("00456", dt.date(1991, 7, 8)),
            ("00789", None),
        )
    }
    assert labels == {
        "Casey Example · MRN 00123 · born 1980-02-03 (46)",
        "Casey Example · MRN 00456 · born 1991-07-08 (35)",
        "Casey Example · MRN 00789 · born unknown",
    }


def test_the_markdown_label_keeps_supplied_text_literal() -> None:
    label = patient_label("**All clear**", "[x](http://a)", None, today=TODAY)
    assert "**" not in label.replace("\\*", "") and "](" not in label.replace("\\]", "")


def test_a_file_name_never_names_a_folder_or_an_extension() -> None:
    assert file_name_part("Casey Example", "00123", dt.date(1980, 2, 3)) == (
        "Casey-Example_MRN-00123_1980-02-03"
    )
    assert file_name_part("../../etc/passwd", "a/b.csv", None) == "etc-passwd_MRN-a-b-csv"
    assert file_name_part("Zoë Ñúñez", "", None) == "Zoe-Nunez_MRN"

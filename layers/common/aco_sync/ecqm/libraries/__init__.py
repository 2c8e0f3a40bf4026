"""The shared CQL libraries the eCQMs include, one module each: Status (``status``), QICoreCommon
and CumulativeMedicationDuration (``qicore_common``), AdultOutpatientEncounters
(``adult_outpatient_encounters``), Hospice (``hospice``), PalliativeCare (``palliative_care``),
AdvancedIllnessandFrailty (``advanced_illness_frailty``). Where a library changed between
performance years, the year's version is chosen by the evaluation context's performance year."""

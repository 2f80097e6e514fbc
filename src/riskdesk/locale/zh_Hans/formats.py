"""Number formats of the console in Simplified Chinese (PL-9).

Django's own zh_Hans formats print no thousand separator (and group by four when grouping is
forced); a broker's figures are read in groups of three with commas, as on HK and US
statements. Every other format falls through to Django's zh_Hans module.

In effect when settings.FORMAT_MODULE_PATH includes "riskdesk.locale".
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

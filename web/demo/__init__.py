"""The demo, in one room: `seed.py` makes a demo organisation, owner login, study, generated ad
and integration at the first start of a fresh install; `panelists.py` then sends generated
sample panelists through the panelist API of the running server, as a recorder would (run by
`candor serve` as `python -m web.demo.panelists`). The flag that marks their sessions as sample
data, and the one-click removal, belong to the clip (`web/clips/samples.py`): the study and
results pages read them. Only the `candor` command imports this package."""

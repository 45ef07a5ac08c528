"""The north-bound IEC 60870-5-104 link to a DSO SCADA (D3.1 §6.2.1): the site process is an outstation
(controlled station) that reports P, Q, V and SoC and takes set-points, which become Tasks of the site's
capability with the highest priority. c104 (GPLv3) is an optional extra (`pip install '.[scada]'`) and
is imported lazily, only inside this package (outstation.py, master.py)."""

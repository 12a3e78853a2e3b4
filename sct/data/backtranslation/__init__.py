"""Back-translation of sentences into the three-column training format ``x<TAB>T(x)<TAB>T′(x)``.

:mod:`.settings` (pivots, generation), :mod:`.translator` (one model replica, transformers only),
:mod:`.job` (de-duplication, shards on disk, resume, assembly, progress), :mod:`.inputs` (what is read),
:mod:`.local` (the in-process executor) and :mod:`.ray_runner` (the Ray Data executor: the only module here
that imports Ray, imported only by the code paths that run on Ray).
"""

"""Paired translation (pix2pix): image A -> image B, e.g. a sketch -> a photo, as a plug-in task.

  data.py        paired data (A|B files or two folders) -> datasets -> loaders, pix2pix preprocessing
  task.py        Paired: the training task (pairs -> (A, B) on the device, the generator, loss, score)
  sketches.py    make-sketches: photos -> sketch|photo pairs (Canny or DoG lines)
  translate.py   Translator: paired weights in, image of any size out (`python -m colorizer translate`)
  sketch_app.py  the sketch app: a drawing -> its jewelry type (classify/) and a color photo; the page's
                 Sketch tab and POST /sketch

It plugs in through registry.TASKS["paired"] (its predictor, translate.Translator) and
task.py's Paired, registered in training/tasks.py's TASKS (what is learned).
"""

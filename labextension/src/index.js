// rnnlab-lab:clean-open: a notebook that was only opened is not shown as modified.
//
// When a kernel connects, JupyterLab writes the kernel's own `language_info` (with the
// Python patch version of this machine) and `kernelspec` into the notebook's metadata,
// and any metadata change marks the notebook dirty. A student who only read a lecture
// would then see the ● on its tab and be asked to save on close. Committing the full
// `language_info` cannot help: the version differs from machine to machine.
//
// So: remember the notebook as it is on disk, less those two keys; whenever the model
// turns dirty, compare, and if nothing else differs it is not really modified. Anything
// a student does (edit, run, add or move a cell, other metadata) still marks it dirty.

import { INotebookTracker } from '@jupyterlab/notebook';

import nbgraderZh from './nbgrader_zh';

// What the kernel writes on connect (NotebookPanel._updateLanguage and _updateSpec).
const KERNEL_KEYS = ['language_info', 'kernelspec'];

function content(model) {
  const nb = model.toJSON();
  const metadata = { ...nb.metadata };
  for (const key of KERNEL_KEYS) {
    delete metadata[key];
  }
  return { ...nb, metadata };
}

// JSON values only; key order does not matter (metadata keys may be re-set in any order).
function same(a, b) {
  if (a === b) {
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null ||
      Array.isArray(a) !== Array.isArray(b)) {
    return false;
  }
  const ka = Object.keys(a).filter(k => a[k] !== undefined);
  const kb = Object.keys(b).filter(k => b[k] !== undefined);
  return ka.length === kb.length && ka.every(k => same(a[k], b[k]));
}

function watch(context) {
  const model = context.model;
  let clean = null; // the content when JupyterLab last called the model clean

  const check = () => {
    if (clean !== null && model.dirty && same(content(model), clean)) {
      model.dirty = false;
    }
  };

  // JupyterLab sets dirty to false exactly when the model matches the file: after
  // loading, saving and reverting. That is the content to compare with.
  model.stateChanged.connect((_, change) => {
    if (change.name !== 'dirty' || !context.isReady) {
      return;
    }
    if (change.newValue) {
      check();
    } else {
      clean = content(model);
    }
  });

  void context.ready.then(() => {
    if (!model.isDisposed) {
      if (!model.dirty) {
        clean = content(model);
      }
      check();
    }
  });
}

const plugin = {
  id: 'rnnlab-lab:clean-open',
  description: 'A notebook is not marked modified when only the kernel metadata changed on connect.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker) => {
    // Several views of one notebook share one context: watch each context once.
    const watched = new WeakSet();
    tracker.widgetAdded.connect((_, panel) => {
      if (!watched.has(panel.context)) {
        watched.add(panel.context);
        watch(panel.context);
      }
    });
  }
};

export default [plugin, nbgraderZh];

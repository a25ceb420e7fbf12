// rnnlab-lab:nbgrader-zh: nbgrader's student tools in Chinese when JupyterLab is.
//
// The Assignments panel, the Validate button and its result dialog are nbgrader's own
// (@jupyter/nbgrader 0.9): their English is written straight into the page, with no
// translation hooks, so no language pack can reach it. Here the exact English strings are
// replaced where nbgrader puts them, and only there (inside the panel, nbgrader's dialogs,
// the toolbar's Validate button, menus and the command palette); a text that is not one of
// nbgrader's strings, exactly, is never touched. The panel's tab title is set through the
// widget's title, which Lumino would otherwise redraw. A refused submission's dialog shows the
// course's Chinese sentence without the traceback above it (shortenSubmissionMessage).

import { ITranslator } from '@jupyterlab/translation';

const PANEL_ID = 'nbgrader-assignment-list';

// nbgrader 0.9.6's strings (static/161.*.js of @jupyter/nbgrader) -> what students read.
// "Validate" runs the notebook with its visible checks only: the hidden tests were removed
// from the release, so "all the tests" would promise more than it checked.
export const ZH = new Map([
  ['Assignment List', '作业列表'],
  ['Course List', '课程列表'],
  ['Released, downloaded, and submitted assignments for course:', '这门课已发布、已下载和已提交的作业：'],
  ['Loading, please wait...', '正在加载，请稍候……'],
  ['Refresh assignments list', '刷新作业列表'],
  ['Toggle Dropdown', '展开课程列表'],
  ['Released assignments', '已发布的作业'],
  ['There are no assignments to fetch.', '没有可以取回的作业。'],
  ['Downloaded assignments', '已下载的作业'],
  ['There are no downloaded assignments.', '还没有下载作业。'],
  ['Submitted assignments', '已提交的作业'],
  ['There are no submitted assignments.', '还没有提交作业。'],
  ['Fetch', '取回'],
  ['Fetching...', '正在取回……'],
  ['Submit', '提交'],
  ['submitting...', '正在提交……'],
  ['Fetch Feedback', '取回反馈'],
  ['Fetching Feedback...', '正在取回反馈……'],
  ['(view feedback)', '（查看反馈）'],
  ['Validate', '验证'],
  ['Validate Assignment', '验证作业：保存并运行一遍，列出没有通过的可见检查'],
  ['Validating...', '正在验证……'],
  ['Validation Results', '验证结果'],
  ['Validation failed', '验证失败'],
  ['Success! Your notebook passes all the tests.', '通过了！笔记本里的可见检查全部通过（批改时还有隐藏测试）。'],
  ['The following cell failed:', '下面这个单元格没有通过：'],
  ['The following cell passed:', '下面这个单元格通过了（它本应不通过）：'],
  ['The source of the following cell has changed, but it should not have!', '下面这个单元格被改动过，但它是不能改的！'],
  ['There was an error running the validate command:', '运行验证时出错：'],
  ['Error fetching assignment.', '取回作业时出错。'],
  ['Error submitting assignment.', '提交作业时出错。'],
  ['Error fetching feedback.', '取回反馈时出错。'],
  ['Error validating assignment.', '验证作业时出错。'],
  ['Invalid Submission', '没有提交成功'],
  ['Assignment not submitted:', '作业没有提交：'],
  ['Error fetching courses!', '读取课程列表时出错！'],
  ['No courses found.', '没有找到课程。']
]);

// Where nbgrader writes those strings. The panel's own root is #assignments.
const SCOPES = [
  `#${PANEL_ID}`,
  '#assignments',
  '.validate-button',
  '.jp-Dialog',
  '.lm-Menu',
  '.lm-CommandPalette'
].join(', ');
const ATTRIBUTES = ['title', 'aria-label'];

function translateText(node) {
  const text = node.nodeValue;
  const zh = ZH.get(text.trim());
  if (zh !== undefined) {
    node.nodeValue = text.replace(text.trim(), zh);
  }
}

function translateElement(element) {
  for (const name of ATTRIBUTES) {
    const value = element.getAttribute(name);
    const zh = value === null ? undefined : ZH.get(value.trim());
    if (zh !== undefined) {
      element.setAttribute(name, zh);
    }
  }
}

// Everything under `root` (root included).
function translateTree(root) {
  if (root.nodeType === Node.TEXT_NODE) {
    translateText(root);
    return;
  }
  if (root.nodeType !== Node.ELEMENT_NODE) {
    return;
  }
  translateElement(root);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      translateText(node);
    } else {
      translateElement(node);
    }
  }
}

// nbgrader's "Invalid Submission" dialog shows the server's reply in a <pre>: for a submission the
// course's exchange refused (rnnlab/exchange.py: a full disk) that is a short Python traceback whose
// last line is the course's Chinese sentence. The student reads the sentence alone, wrapped.
const SUBMISSION_MESSAGE = '#submission-message pre';
const CJK = /[\u4e00-\u9fff]/;

function shortenSubmissionMessage(pre) {
  const lines = pre.textContent.split('\n').filter(line => line.trim() !== '');
  const last = lines.length > 1 ? lines[lines.length - 1] : '';
  if (CJK.test(last)) {
    pre.textContent = last.replace(/^[\w.]+: /, '').trim();  // without "nbgrader....ExchangeError: "
    pre.style.whiteSpace = 'pre-wrap';
  }
}

function shortenSubmissionMessages(root) {
  if (root.nodeType !== Node.ELEMENT_NODE) {
    return;
  }
  if (root.matches(SUBMISSION_MESSAGE)) {
    shortenSubmissionMessage(root);
  }
  root.querySelectorAll(SUBMISSION_MESSAGE).forEach(shortenSubmissionMessage);
}

function inScope(node) {
  const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  return element !== null && element.closest(SCOPES) !== null;
}

// Only what a mutation added or changed, and only inside the scopes: the rest of the page (a
// notebook being typed in) costs one closest() per mutation.
function onMutations(records) {
  for (const record of records) {
    if (record.type === 'characterData' || record.type === 'attributes') {
      if (inScope(record.target)) {
        translateTree(record.target);
      }
      continue;
    }
    const scoped = inScope(record.target);
    for (const node of record.addedNodes) {
      if (scoped) {
        translateTree(node);
        shortenSubmissionMessages(node);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        const roots = node.matches(SCOPES) ? [node] : Array.from(node.querySelectorAll(SCOPES));
        roots.forEach(translateTree);
        roots.forEach(shortenSubmissionMessages);
      }
    }
  }
}

const plugin = {
  id: 'rnnlab-lab:nbgrader-zh',
  description: "nbgrader's Assignments panel and Validate in Chinese when JupyterLab's language is Chinese.",
  autoStart: true,
  optional: [ITranslator],
  activate: (app, translator) => {
    if (!translator || !/^zh/i.test(translator.languageCode || '')) {
      return;
    }
    const observer = new MutationObserver(onMutations);
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ATTRIBUTES
    });
    document.querySelectorAll(SCOPES).forEach(translateTree);
    // The panel's tab: Lumino draws it from the widget's title, so that is what changes.
    const retitle = () => {
      for (const widget of app.shell.widgets('main')) {
        if (widget.id === PANEL_ID && widget.title.label === 'Assignments') {
          widget.title.label = '作业';
        }
      }
    };
    app.shell.layoutModified.connect(retitle);
    app.restored.then(retitle);
  }
};

export default plugin;

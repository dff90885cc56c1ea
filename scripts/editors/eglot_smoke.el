;;; eglot_smoke.el --- drive async-pitfalls-lint server from Emacs in batch mode with eglot.
;; Run from a project folder holding main.py:
;;   emacs --batch -l scripts/editors/eglot_smoke.el
(require 'package)
(package-initialize)
(require 'eglot)
(require 'python)
(require 'flymake)
(add-to-list 'eglot-server-programs '((python-mode) . ("async-pitfalls-lint" "server")))
(find-file "main.py")
(python-mode)
(flymake-mode 1)
(eglot '(python-mode) (project-current) 'eglot-lsp-server
       '("async-pitfalls-lint" "server") "python")
(let ((tries 0))
  (while (and (< tries 300) (< (length (flymake-diagnostics)) 2))
    (accept-process-output nil 0.1)
    (setq tries (1+ tries))))
(dolist (diagnostic (flymake-diagnostics))
  (princ (format "diagnostic line %d: %s\n"
                 (line-number-at-pos (flymake-diagnostic-beg diagnostic))
                 (flymake-diagnostic-text diagnostic))))
(let* ((server (eglot-current-server))
       (actions (jsonrpc-request
                 server :textDocument/codeAction
                 (list :textDocument (eglot--TextDocumentIdentifier)
                       :range (list :start (list :line 11 :character 4)
                                    :end (list :line 11 :character 17))
                       :context (list :diagnostics [])))))
  (seq-doseq (action actions)
    (princ (format "action: %s\n" (plist-get action :title))))
  (let ((hover (jsonrpc-request
                server :textDocument/hover
                (list :textDocument (eglot--TextDocumentIdentifier)
                      :position (list :line 10 :character 12)))))
    (princ (format "hover: %s\n"
                   (substring (plist-get (plist-get hover :contents) :value) 0 60))))
  (eglot-shutdown server))

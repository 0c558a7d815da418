# SPDX-License-Identifier: GPL-3.0-or-later
"""Hearth's exception tree and the one table of wire texts.

    HearthError                 every failure a caller should see, with a stable code and its text
     ├── NotFound               a lookup failed, or the object is hidden from the caller
     ├── Forbidden              the caller may see the object but not do this
     ├── Conflict               the name or state is taken
     ├── Invalid                the input is wrong
     └── Failed                 the operation itself failed (disk, remote, database); rolled back

Services raise these; each protocol maps them to its reply in one place (``api/jsonrpc.py`` for the
API, the VCS and web handlers for HTTP). The texts are Kallithea's exact strings (``spec/``), so they
live here, keyed by code, and nowhere else.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, str] = {
    # envelope (jsonrpc.md §1-§4)
    "bad_http_method": 'unsupported request method "{method}". Please use POST',
    "no_content_length": "No Content-Length in request",
    "content_length_zero": "Content-Length is 0",
    "body_too_large": "Request body too large: limit is {limit} bytes",
    "parse_error": "JSON parse error ERR:{message} RAW:{raw}",
    "not_an_object": "Incorrect JSON query: expected a JSON object, got {type}",
    "missing_api_key": "Incorrect JSON query missing 'api_key'",
    "missing_id": "Incorrect JSON query missing 'id'",
    "missing_method": "Incorrect JSON query missing 'method'",
    "missing_args": "Incorrect JSON query missing 'args'",
    "invalid_api_key": "Invalid API key",
    "method_not_string": "Method name must be a string",
    "method_not_allowed": "Method not allowed",
    "no_such_method": "No such method: {method}",
    "missing_arg": "Missing non optional `{arg}` arg in JSON DATA",
    "conflicting_args": "Conflicting `{arg}` and `{alias}` args in JSON DATA",
    "unknown_args": "Unknown {names} arg in JSON DATA",
    "access_denied": "Access was denied to this resource.",
    "invalid_value": "Invalid value for `{arg}`: expected {kind}, got {json}",
    "internal": "Internal server error",
    "encoding": "Error encoding response",
    # lookups (jsonrpc.md §8)
    "user_not_found": "user `{x}` does not exist",
    "repo_not_found": "repository `{x}` does not exist",
    "repo_group_not_found": "repository group `{x}` does not exist",
    "user_group_not_found": "user group `{x}` does not exist",
    "gist_not_found": "gist `{x}` does not exist",
    "permission_not_found": "permission `{x}` does not exist",
    "task_not_found": "task `{x}` does not exist",
    # users
    "not_same_user": "userid is not the same as your user",
    "invalid_username": (
        "Invalid username `{x}`: use letters, digits, `_`, `.` and `-`, "
        "and start with a letter, digit or `_`"
    ),
    "user_exists": "user `{x}` already exist",
    "email_exists": "email `{x}` already exist",
    "user_create_failed": "failed to create user `{x}`",
    "user_update_failed": "failed to update user `{x}`",
    "edit_default_user": "editing default user is forbidden",
    "user_delete_failed": "failed to delete user ID:{id} {name}",
    # user groups
    "invalid_user_group_name": "Invalid user group name `{x}`: {reason}",
    "user_group_exists": "user group `{x}` already exist",
    "user_group_create_failed": "failed to create group `{x}`",
    "user_group_update_failed": "failed to update user group `{x}`",
    "user_group_delete_failed": "failed to delete user group ID:{id} {name}",
    "user_group_assigned": "User Group assigned to {repos}",
    "member_add_failed": "failed to add member to user group `{group}`",
    "member_remove_failed": "failed to remove member from user group `{group}`",
    "perm_wrong_kind": "permission `{x}` is invalid, should start with {prefix}.",
    "usergroup_user_perm_failed": "failed to edit permission for user: `{x}` in user group: `{group}`",
    "usergroup_group_perm_failed": (
        "failed to edit permission for user group: `{x}` in user group: `{group}`"
    ),
    # repositories and repository groups
    "invalid_repo_name": "Invalid repository name `{x}`: {reason}",
    "invalid_repo_group_name": "Invalid repository group name `{x}`: {reason}",
    "repo_exists": "repo `{x}` already exist",
    "fork_exists": "fork `{x}` already exist",
    "repo_group_exists": "repo group `{x}` already exist",
    "repo_group_missing": "repo group `{x}` not found",
    "no_create_in_group": "no permission to create repo in {x}",
    "no_create_top_level": "no permission to create top level repo",
    "no_move_top_level": "no permission to create (or move) top level repositories",
    "no_move_in_group": "no permission to create (or move) repo in {x}",
    "repo_create_failed": "failed to create repository `{x}`",
    "repo_update_failed": "failed to update repo `{x}`",
    "repo_update_no_branch": "failed to update repo `{x}`: branch `{branch}` does not exist",
    "repo_no_head": (
        "repository `{x}` is a Mercurial repository: only git repositories have a default branch"
    ),
    "repo_fork_failed": "failed to fork repository `{x}` as `{fork}`",
    "repo_delete_failed": "failed to delete repository `{x}`",
    "repo_has_forks": "Cannot delete `{x}` it still contains attached forks",
    "repo_user_perm_failed": "failed to edit permission for user: `{x}` in repo: `{repo}`",
    "repo_group_perm_failed": "failed to edit permission for user group: `{x}` in repo: `{repo}`",
    "repo_group_create_failed": "failed to create repo group `{x}`",
    "repo_group_update_failed": "failed to update repository group `{x}`",
    "repo_group_delete_failed": "failed to delete repo group ID:{id} {name}",
    "repo_group_not_empty": (
        "Cannot delete repository group `{x}`: it still contains {repos} repositories "
        "and {groups} repository groups"
    ),
    "group_user_perm_failed": "failed to edit permission for user: `{x}` in repo group: `{group}`",
    "group_group_perm_failed": (
        "failed to edit permission for user group: `{x}` in repo group: `{group}`"
    ),
    "access_denied_repo": "Access denied to repo {x}",
    # gists
    "gist_create_failed": "failed to create gist",
    "gist_delete_failed": "failed to delete gist ID:{x}",
    "gist_read_failed": "failed to read gist ID:{x}",
    # locks, pulls from remotes, rescan (methods.md §1, §10; web-and-vcs.md §6)
    "lock_failed": "Error occurred locking repository `{x}`",
    "repo_locked": "Repository `{x}` locked by user `{user}`",
    "lock_released": "Released lock on repo `{x}`",
    "pull_failed": "Unable to pull changes from `{x}`",
    "rescan_failed": "Error occurred during rescan repositories action",
    # purging deleted repositories (web-and-vcs.md §7, hearth admin purge-deleted)
    "invalid_age": "Invalid age `{x}`: use a number and a unit (w, d, h, m or s), e.g. 30d",
    "purge_no_root": "the repository root {x} is not a directory",
    "purge_failed": "failed to purge deleted repositories in {x}: {reason}",
    # clone/pull/push over HTTP (web-and-vcs.md §3-§5)
    "vcs_login_required": "Authentication required",
    "vcs_forbidden": "Access denied",
    "vcs_repo_not_found": "Repository not found",
    "vcs_push_denied": "Push access denied",
    "vcs_not_found": "Not found",
    # SSH keys and clone/push over SSH (issue 16)
    "ssh_key_invalid": "Invalid SSH public key: {reason}",
    "ssh_key_exists": "SSH key {x} is already in use",
    "ssh_key_not_found": "user `{user}` has no SSH key with fingerprint `{x}`",
    "ssh_bad_command": (
        "Hearth serves only git-upload-pack '<repo>', git-receive-pack '<repo>' "
        "and hg -R <repo> serve --stdio"
    ),
    # generic
    "only_admin_owner": "Only an admin can specify `owner` param",
    "enum": "{arg} must be one of {values}",
    "failed": "{text}",
    # browsing: nodes, refs, files, changesets (methods.md §4, §8)
    "repo_nodes_failed": "failed to get repo: `{x}` nodes",
    "repo_refs_failed": "failed to get repo: `{x}` references",
    "repo_file_missing": (
        "There is no file in repo: `{x}` at path `{path}` for commit: `{commit}`"
    ),
    "repo_file_failed": "failed to get repo: `{x}` file at path {path}",
    "repo_unreadable": "failed to read repository `{x}`",
    "repo_empty": "Repository is empty",
    "branch_not_found": "branch `{x}` does not exist",
    "changeset_not_found": "Changeset {x} does not exist",
    "start_after_end": "start revision is after end revision",
    # pull requests (methods.md §9) and merging them
    "pr_not_found": "pull request `{x}` does not exist",
    "pr_not_allowed": "not allowed",
    "pr_no_comment": (
        "No permission to add comment. "
        "User needs at least reading permissions to the source repository."
    ),
    "pr_no_close": "No permission to close pull request. User needs to be admin or owner.",
    "pr_no_status": (
        "No permission to change pull request status. User needs to be admin, owner or reviewer."
    ),
    "pr_closed": "pull request is already closed",
    "pr_reviewers_missing": "Invalid request. Neither 'add' nor 'remove' is specified.",
    "pr_no_reviewers_edit": (
        "No permission to edit reviewers of this pull request. "
        "User needs to be admin or pull request owner."
    ),
    "pr_reviewers_closed": "Cannot edit reviewers of a closed pull request.",
    "pr_default_reviewer": "user `{x}` is the anonymous user and cannot be a reviewer",
    "pr_ref_format": (
        "Ref `{x}` given in a wrong format. Please check the API documentation for more details"
    ),
    "pr_no_ancestor": "no common ancestor found between specified references",
    "pr_no_commits": "no commits found for merge between specified references",
    "pr_not_family": "repository `{x}` is neither `{y}` nor a repository of its fork family",
    "pr_create_failed": "failed to create pull request",
    "pr_no_merge": (
        "No permission to merge pull request. User needs write access to the target repository."
    ),
    "pr_merge_ref": "Cannot merge into {kind} `{x}`: only a branch can receive a merge",
    "pr_not_approved": "pull request needs {needed} approval(s) by reviewers, it has {have}",
    "pr_rejected": "pull request is rejected by {x}",
    "pr_conflict": (
        "Merge conflict in {x}: merge the target into the source, push it, then merge again"
    ),
    "pr_cannot_ff": (
        "Cannot fast-forward `{x}`: it has changesets the source does not have; "
        "merge with a merge commit instead"
    ),
    "pr_target_moved": "`{x}` moved while merging; reload the pull request and merge again",
    "pr_nothing_to_merge": "nothing to merge: the target has every changeset of the source",
    "pr_merge_failed": "failed to merge pull request `{x}`",
    "pr_bad_line": "Invalid line `{x}`: use o<number> (old side) or n<number> (new side)",
    "pr_path_not_in_diff": "File `{x}` is not changed by this pull request",
    "pr_comment_not_found": "comment `{x}` does not exist",
    "pr_no_edit": "No permission to edit pull request. User needs to be admin, owner or target repository admin.",
    # RhodeCode's pull-request methods (its own texts for the same refusals)
    "rc_pr_hidden": "repository `{repo}` or pull request `{x}` does not exist",
    "rc_pr_closed_comment": "pull request `{x}` comment failed, pull request is closed",
    "rc_pr_closed_update": "pull request `{x}` update failed, pull request is closed",
    "rc_pr_no_update": "pull request `{x}` update failed, no permission to update.",
    "rc_pr_already_closed": "pull request `{x}` is already closed",
    "rc_pr_no_close": "pull request `{x}` close failed, no permission to close.",
    "rc_pr_closed_merge": "pull request `{x}` merge failed, pull request is closed",
    "rc_pr_merge_refused": "merge not possible for following reasons: {x}",
    "rc_no_message": "Both message and status parameters are missing. At least one is required.",
    "rc_bad_status": "Unknown comment status: `{x}`",
    "rc_bad_commit": "Invalid commit_id `{x}` for this pull request.",
    "rc_bad_comment_type": "Invalid comment_type `{x}`: Hearth keeps notes only (`note`)",
    "rc_not_same_user": "userid is not the same as your user",
    # API-key web views: raw files, diffs, patches, archives, feeds (web-and-vcs.md §8)
    "web_repo_not_found": "Repository not found",
    "web_not_found": "Not Found",
    "web_method_not_allowed": "Method not allowed",
    "web_login_required": "Login required",
    "web_unknown_revision": "Unknown revision {rev}",
    "web_empty_repository": "Empty repository",
    "web_downloads_disabled": "Downloads disabled",
    "web_unknown_archive_type": "Unknown archive type",
    "web_file_not_found": "No file `{path}` at revision {rev}",
    "web_bad_range": "start revision {start} is after end revision {end}",
    "web_unknown_branch": "Unknown branch {branch}",
    "web_no_such_page": "There is no page {page}",
    "web_compare_types": "Cannot compare a {a} repository with a {b} repository",
    "web_internal": "Internal server error (incident {incident})",
    "web_form_too_large": "The form is too large",
    "web_wrong_password": "The current password is wrong",
    "web_password_mismatch": "The two new passwords differ",
    "web_password_short": "The new password must have at least {n} characters",
    "web_email_invalid": "`{x}` is not an e-mail address",
    "web_email_taken": "The e-mail address `{x}` is already in use",
    "web_email_not_found": "No such e-mail address",
    "web_key_role": "The role must be one of {roles}",
    "web_key_expiry": "The expiry date must be a date in the future (YYYY-MM-DD)",
    "web_key_not_found": "No such API key",
    "web_gist_empty": "A gist needs a file name and some content",
    # the permission explainer (issue 14)
    "explain_one_object": "give exactly one of `repoid`, `repogroupid` and `usergroupid`",
    # administration pages (issue 14)
    "admin_required": "`{x}` is required",
    "admin_password_mismatch": "The two passwords differ",
    "admin_self_delete": "You cannot delete your own account",
    "admin_default_user": "The `default` user cannot be changed here",
    "global_perm_invalid": "`{x}` is not one of the choices for {kind}: {choices}",
    "global_perm_admin_only": "Only administrators change the global permissions",
}


def py_str(value: Any) -> str:
    """Render a JSON scalar as Python's ``%s`` does: the form Kallithea's texts show (``True``, ``12``)."""
    if isinstance(value, str):
        return value
    return str(value)


class HearthError(Exception):
    """A failure with a stable code whose text comes from :data:`TEXTS`."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.text = TEXTS[code].format(**{k: py_str(v) for k, v in params.items()})
        super().__init__(self.text)


class NotFound(HearthError):
    """A lookup failed, or the object exists but the caller may not see it (same text)."""


class Forbidden(HearthError):
    """The caller may see the object but lacks the permission for this operation."""


class Conflict(HearthError):
    """A name is taken or the state forbids the change."""


class Invalid(HearthError):
    """The input is malformed or out of range."""


class Failed(HearthError):
    """The operation itself failed; everything it started has been rolled back."""


def failed(text: str) -> Failed:
    """A ``failed to …`` error whose text was composed by the caller (many distinct texts)."""
    return Failed("failed", text=text)


def enum_error(arg: str, values: list[str] | tuple[str, ...]) -> Invalid:
    """``<arg> must be one of a,b,c`` with the values sorted, as Kallithea prints them."""
    return Invalid("enum", arg=arg, values=",".join(sorted(values)))

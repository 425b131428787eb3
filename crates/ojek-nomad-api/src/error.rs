//! What can go wrong talking to Nomad, each variant saying what to do about it.

/// An error from the Nomad API client.
#[derive(Debug, thiserror::Error)]
pub enum NomadError {
    /// The configuration cannot be used (bad address, unreadable or invalid TLS files).
    #[error("invalid Nomad configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// No HTTP answer: connection refused, DNS, TLS handshake or timeout.
    #[error("cannot reach Nomad at {address}: {cause} (check the address, network and TLS settings)")]
    Unreachable {
        /// The configured address.
        address: String,
        /// The underlying error, as text (it includes its own causes).
        cause: String,
    },
    /// Nomad refused the request (HTTP 403): the ACL token is missing, unknown or lacks the
    /// needed policy.
    #[error("Nomad refused the request ({message}): set a token (NOMAD_TOKEN) whose policy allows it")]
    PermissionDenied {
        /// Nomad's message, usually `Permission denied`.
        message: String,
    },
    /// Nomad rejected a write because the job changed meanwhile (`EnforceIndex` on register,
    /// `EnforcePriorVersion` on revert). Plan again and retry with the new index.
    #[error("the job changed in Nomad since it was read: {message}")]
    Conflict {
        /// Nomad's message, e.g. `Enforcing job modify index 5: job exists with conflicting
        /// job modify index: 7`.
        message: String,
    },
    /// The job, deployment or allocation does not exist (HTTP 404).
    #[error("not found in Nomad: {message}")]
    NotFound {
        /// Nomad's message, e.g. `job not found`.
        message: String,
    },
    /// Any other error answer. Nomad answers errors with a plain-text body.
    #[error("Nomad answered {status}: {message}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The response body (trimmed).
        message: String,
    },
    /// A success answer that does not have the expected shape.
    #[error("cannot decode Nomad's answer to {what}: {source}")]
    Decode {
        /// The request, e.g. `GET /v1/job/web/deployment`.
        what: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// Prefixes of Nomad's messages for optimistic-concurrency failures. Nomad reports them as
/// plain RPC errors (HTTP 500), so the text is the only way to tell them apart.
const CONFLICT_PREFIXES: [&str; 2] = ["Enforcing job modify index", "Current job has version"];

impl NomadError {
    /// The error for an HTTP error answer with `status` and body `message`.
    pub(crate) fn from_status(status: u16, message: String) -> Self {
        let message = message.trim().to_string();
        if CONFLICT_PREFIXES.iter().any(|p| message.contains(p)) {
            return NomadError::Conflict { message };
        }
        match status {
            403 => NomadError::PermissionDenied { message },
            404 => NomadError::NotFound { message },
            _ => NomadError::Http { status, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_message_select_the_variant() {
        let e = NomadError::from_status(
            500,
            "Enforcing job modify index 5: job exists with conflicting job modify index: 7\n".into(),
        );
        assert!(
            matches!(&e, NomadError::Conflict { message } if message.ends_with("index: 7")),
            "{e:?}"
        );
        let e = NomadError::from_status(500, "Current job has version 3; enforcing version 2".into());
        assert!(matches!(e, NomadError::Conflict { .. }));
        assert!(matches!(
            NomadError::from_status(403, "Permission denied".into()),
            NomadError::PermissionDenied { .. }
        ));
        assert!(matches!(
            NomadError::from_status(404, "job not found".into()),
            NomadError::NotFound { .. }
        ));
        let e = NomadError::from_status(500, "rpc error: No path to region".into());
        assert_eq!(e.to_string(), "Nomad answered 500: rpc error: No path to region");
    }
}

//! Why a connection was closed, with the reference's texts (`monitor.go ClosedState.String`),
//! which monitoring and logs show.

/// A close reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosedState {
    ClientClosed,
    AuthenticationTimeout,
    AuthenticationViolation,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    WriteError,
    ReadError,
    ParseError,
    StaleConnection,
    ProtocolViolation,
    BadClientProtocolVersion,
    MaxConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    MaxSubscriptionsExceeded,
    ServerShutdown,
    AuthenticationExpired,
    NoRespondersRequiresHeaders,
    MaxAccountConnectionsExceeded,
    Revocation,
}

impl ClosedState {
    /// The reference's text for this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedState::ClientClosed => "Client Closed",
            ClosedState::AuthenticationTimeout => "Authentication Timeout",
            ClosedState::AuthenticationViolation => "Authentication Failure",
            ClosedState::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            ClosedState::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            ClosedState::WriteError => "Write Error",
            ClosedState::ReadError => "Read Error",
            ClosedState::ParseError => "Parse Error",
            ClosedState::StaleConnection => "Stale Connection",
            ClosedState::ProtocolViolation => "Protocol Violation",
            ClosedState::BadClientProtocolVersion => "Bad Client Protocol Version",
            ClosedState::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            ClosedState::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            ClosedState::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            ClosedState::MaxSubscriptionsExceeded => "Maximum Subscriptions Exceeded",
            ClosedState::ServerShutdown => "Server Shutdown",
            ClosedState::AuthenticationExpired => "Authentication Expired",
            ClosedState::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            ClosedState::MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            ClosedState::Revocation => "Credentials Revoked",
        }
    }
}

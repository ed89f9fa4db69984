//! Every text of the pages in Brazilian Portuguese.

use super::texts::Texts;
use crate::error::Reason;

pub static PT_BR: Texts = Texts {
    tag: "pt-BR",
    in_this_language: "Em português",
    language_nav: "Idioma",

    decimal_separator: ',',
    group_separator: '.',
    date: |f, at| {
        write!(
            f,
            "{:02}/{:02}/{}",
            at.day(),
            u8::from(at.month()),
            at.year()
        )
    },
    clock: |f, at| write!(f, "{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second()),

    description: "Um contador de visitas no Redis ao lado de um log de acessos no PostgreSQL.",
    tagline: "Um cache e um banco de dados, lado a lado.",
    checks: "Verificações:",

    page_title: "Tally: visitas e log de acessos",
    reset_notice: "O contador de visitas foi zerado. O log de acessos foi mantido.",
    visits_heading: "Visitas",
    in_redis: "no Redis",
    access_heading: "Log de acessos",
    in_postgres: "no PostgreSQL",
    up: "no ar",
    down: "fora do ar",
    unavailable_gloss: Some("indisponível"),
    answered_in: |f, took| write!(f, "Respondeu em {took}."),
    committed_in: |f, took| write!(f, "Gravado em {took}."),
    store_down: |f, (store, reason, took)| {
        write!(f, "O {store} está fora do ar: {reason} após {took}.")
    },
    store_error: |f, (store, reason)| write!(f, "O {store} respondeu com um erro: {reason}."),
    bug: |f, (store, reason)| {
        write!(
            f,
            "Um bug no Tally deixou o número do {store} fora da página: {reason}."
        )
    },
    visits_explain: "Um contador guardado na memória: rápido, perdido quando o Redis \
                     reinicia e zerado pelo botão abaixo.",
    reset_button: "Zerar as visitas",
    reset_hint: "Zera só este contador do Redis. O log de acessos mantém todas as linhas.",
    access_explain: "Cada visualização da página já registrada, uma linha em disco para \
                     cada: o total se mantém entre reinícios e nunca é zerado. Apagar linhas \
                     antigas (tally prune) não tira as visualizações delas da conta.",
    recent_heading: "Acessos recentes",
    recent_hint: "As últimas linhas do log de acessos, das mais recentes para as mais antigas.",
    recent_empty: "Nenhum acesso ainda.",
    recent_unreadable: "Não é possível ler o log de acessos agora.",
    time_column: "Data e hora (UTC)",
    browser_column: "Navegador",
    browser_on: "no",
    served_by: "Página servida por",
    reason,

    error: "Erro",
    status_title: |status| {
        Some(match status {
            403 => "Acesso negado",
            404 => "Página não encontrada",
            405 => "Método não permitido",
            411 => "Tamanho obrigatório",
            413 => "Requisição grande demais",
            431 => "Cabeçalhos grandes demais",
            500 => "Erro interno do servidor",
            503 => "Serviço indisponível",
            _ => return None,
        })
    },
    no_page: "Não há nenhuma página aqui. O contador fica na página inicial.",
    cross_origin_reset: "O contador só pode ser zerado pela própria página do Tally. Nada foi alterado.",
    only_answers: |f, methods| write!(f, "Este endereço só responde a {methods}."),
    headers_too_large: "Os cabeçalhos da requisição são grandes demais.",
    length_required: "Envie um corpo com Content-Length, ou nenhum corpo.",
    body_too_large: "O corpo da requisição é grande demais.",
    store_did_not_answer: |f, reason| {
        write!(
            f,
            "Um banco de dados de que o Tally precisa não respondeu: {reason}."
        )
    },
    stores_come_back: "Em geral, ele volta em poucos segundos. Tente de novo daqui a pouco.",
    internal_error: |f, reason| write!(f, "Algo deu errado no Tally: {reason}."),
    back_to_counter: "Voltar ao contador",
};

/// Why a call to a store failed, in Portuguese.
fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::TimedOut => "tempo esgotado",
        Reason::LockTimedOut => "tempo esgotado à espera de um lock",
        Reason::ConnectionRefused => "conexão recusada",
        Reason::HostNotFound => "host não encontrado",
        Reason::ConnectionLost => "conexão perdida",
        Reason::AuthenticationFailed => "falha na autenticação",
        Reason::NoSuchDatabase => "o banco de dados não existe",
        Reason::TooManyConnections => "conexões demais",
        Reason::ShuttingDown => "desligando ou iniciando",
        Reason::QueryFailed => "falha na consulta",
        Reason::CommandFailed => "falha no comando",
        Reason::UnexpectedAnswer => "resposta inesperada",
        Reason::NotReachable => "inalcançável",
        Reason::TotalMissing => "o total de acessos sumiu",
        Reason::ReadBackWrong => "leu de volta um valor errado",
        Reason::NotAcceptingWrites => "não está aceitando gravações",
        Reason::WriterPanicked => "o gravador do log de acessos falhou",
        Reason::PageNotRendered => "não foi possível montar a página",
    }
}
